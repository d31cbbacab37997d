"""Periodic work run by `cbp scheduler`: scheduled scrapes, backups and whatever registers here."""
