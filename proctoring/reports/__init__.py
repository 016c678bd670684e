"""What staff take away from a session or an exam: the per-exam report, the session's CSV/JSON
export and its PDF. They read the proctoring record (events, reviews, audit), so they live here,
above the sessions app they also read."""
