"""The lab's core that runs on the controller and on the client hosts alike (standard library only)."""
