"""The server's side of sync: who subscribes to which scopes, what domains publish, HQ's
delivery views and webhook administration. The engine itself is the ``sync`` package."""
