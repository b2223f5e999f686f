"""Operations: the systemd units, run history and status, the heartbeat, notifications, planning."""
