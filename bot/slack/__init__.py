"""kgbot in Slack: mentions, direct messages and `/ask` answered in threads, `/reindex` for admins.

`app.py` is the Bolt app and how kgbot answers in a thread, `listeners/` holds one module per listener,
`render.py` builds the Block Kit, and `adapter.py` builds the app from settings and runs it (Socket Mode or HTTP).
"""
