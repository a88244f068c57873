"""The pure "server minus I/O": a replica, a state machine and its client sessions."""
