"""The Discord front-end: `client.py` wires discord.py to `bot.core`, `render.py` builds what is sent."""
