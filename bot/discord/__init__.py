"""kgbot in Discord: mentions and `/ask` answered in threads, `/reindex` for admins.

`client.py` is the discord.py client and what the listeners share, `listeners/` holds one module per listener,
`render.py` builds what is sent, and `adapter.py` builds the client and runs it.
"""
