"""The Amazon sync jobs (orders, returns, refund events, settlements, reports) and their runner.

Rules: every job resumes from its stored cursor and upserts by Amazon's ids, so a rerun changes
nothing; the scheduler runs them on intervals inside the app's lifespan.
"""
