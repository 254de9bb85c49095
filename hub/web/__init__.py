"""Server-rendered web UI (French): login, ethics review (/review), DPO audit (/audit)."""
