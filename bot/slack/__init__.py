"""kgbot in Slack: mentions, direct messages and `/ask` answered in threads, `/reindex` for admins.

`app.py` wires slack-bolt's AsyncApp (Socket Mode or HTTP), `listeners/` holds one module per listener,
`threads.py` answers in a thread through `bot.core.Assistant`, and `render.py` builds the Block Kit.
"""

from bot.slack.app import build_app, serve

__all__ = ["build_app", "serve"]
