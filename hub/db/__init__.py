"""Hub storage: SQLAlchemy Core tables, engine and transactions, the audit log adapter."""
