"""Operations around the nightly run: the team's workload plan (and, beside it, service modules)."""
