"""The service desk: handoff to human operators, lead-capture forms, and their notifications.

Integration points for the widget (see docs/api.md, "Service desk"):
`handoff.before_answer` / `handoff.after_answer` around the bot's answer, `handoff.is_human_handling`,
and the visitor endpoints in `public.py` (handoff request, live stream, forms).
"""
