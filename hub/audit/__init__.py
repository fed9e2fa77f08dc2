"""The audit trail: a hash chain over every state change, its table adapter and exports.

Rules: ``chain`` is pure (entries in, hashes out); ``log`` appends in the caller's transaction
(the change and its audit entry commit together or not at all); ``export`` reads a date range
with personal data masked. Nothing ever updates or deletes an audit row.

    chain  log  export
"""
