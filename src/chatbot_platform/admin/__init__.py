"""The admin web UI: a server-rendered application mounted at /admin behind one guard."""
