"""Structured output from a chat model: a forced tool call, or plain JSON for models that cannot call tools.

Models get JSON slightly wrong all the time: fenced in markdown, wrapped in prose, with trailing commas, cut off
by the output limit, or as a tool call whose arguments do not parse. `parse_json_object` repairs what can be
repaired; what cannot raises `MalformedOutput`, which callers turn into a warning, never a failed build.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.exceptions import ContextOverflowError, ModelInvalidRequestError
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.utils.json import parse_partial_json

from kg import prompts
from kg.llm.calls import message_text
from kg.llm.client import ModelClient

log = logging.getLogger(__name__)

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|\Z)", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


class MalformedOutput(ValueError):
    """The model's output could not be read as the structure asked for."""


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in `text`, repaired if needed; raises MalformedOutput."""
    candidates: list[str] = []
    fenced = _FENCE.search(text)
    if fenced:
        candidates.append(fenced.group(1))
    start = text.find("{")
    if start != -1:
        end = text.rfind("}")
        candidates.append(text[start : end + 1] if end > start else text[start:])
    for candidate in candidates:
        for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
            try:
                value = json.loads(attempt)
            except json.JSONDecodeError:
                try:  # cut off mid-way: close what is open
                    value = parse_partial_json(attempt)
                except (json.JSONDecodeError, ValueError):
                    continue
            if isinstance(value, dict):
                return value
    raise MalformedOutput(f"no JSON object in the model's reply ({_preview(text)})")


def _preview(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


@dataclass
class StructuredReply:
    data: dict[str, Any]
    message: AIMessage  # the reply, normalised: a clean tool call, or the JSON as content


def _tool_name(tool: dict) -> str:
    return str(tool["function"]["name"])


async def call_structured(
    client: ModelClient,
    phase: str,
    system: str,
    messages: Sequence[BaseMessage],
    tool: dict,
    shape: str,
) -> StructuredReply:
    """Ask for `tool`'s arguments: by a forced tool call when the model supports it, else as JSON text.

    `system` should end by asking for the tool; in JSON mode the tool request is followed by instructions to
    reply in JSON (`shape` shows an example). `messages` follow the system message (a conversation may include
    earlier replies, as a gleaning pass does). Raises MalformedOutput, or the model's own errors.
    """
    name = _tool_name(tool)
    if client.tool_calling is not False:
        try:
            reply = await client.chat(
                phase, [SystemMessage(system), *messages], tools=[tool], tool_choice=name
            )
        except NotImplementedError:
            log.info("the chat model cannot bind tools; asking for plain JSON instead")
            client.tool_calling = False
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            refused = status in (400, 404, 422) or isinstance(exc, ModelInvalidRequestError)
            if client.tool_calling is None and refused and not isinstance(exc, ContextOverflowError):
                log.warning(
                    "the model endpoint refused a tool call (%s); asking for plain JSON instead", status
                )
                client.tool_calling = False
            else:
                raise
        else:
            if reply.tool_calls or reply.invalid_tool_calls:
                client.tool_calling = True
                return _from_tool_reply(reply, name)
            try:  # a text reply despite the forced tool: it may still be the JSON
                return _from_tool_reply(reply, name)
            except MalformedOutput:
                if client.tool_calling:  # the model calls tools: this reply is just bad
                    raise
                log.warning("the model answers tool requests in text; asking for plain JSON instead")
                client.tool_calling = False
    reply = await client.chat(
        phase, [SystemMessage(system + prompts.JSON_INSTRUCTIONS.format(shape=shape)), *messages]
    )
    data = parse_json_object(message_text(reply))
    return StructuredReply(data, AIMessage(content=json.dumps(data)))


def _from_tool_reply(reply: AIMessage, name: str) -> StructuredReply:
    calls = [c for c in reply.tool_calls if c.get("name") == name] or list(reply.tool_calls)
    if calls:
        data: dict[str, Any] = {}
        for call in calls:  # some models split the record over several calls: merge their lists
            for key, value in (call.get("args") or {}).items():
                if isinstance(value, list) and isinstance(data.get(key), list):
                    data[key] = data[key] + value
                else:
                    data.setdefault(key, value)
        call_id = calls[0].get("id") or "call_0"
    elif reply.invalid_tool_calls:
        raw = reply.invalid_tool_calls[0]
        data = parse_json_object(str(raw.get("args") or ""))
        call_id = raw.get("id") or "call_0"
    else:  # the model answered in text despite the forced tool: it may still be the JSON
        data = parse_json_object(message_text(reply))
        call_id = "call_0"
    clean = AIMessage(
        content="", tool_calls=[{"name": name, "args": data, "id": call_id, "type": "tool_call"}]
    )
    return StructuredReply(data, clean)


def follow_up(previous: StructuredReply, text: str) -> list[BaseMessage]:
    """Messages continuing a conversation after a structured reply, ending with the user's `text`."""
    message = previous.message
    if message.tool_calls:
        call_id = message.tool_calls[0]["id"] or "call_0"
        return [message, ToolMessage("Recorded.", tool_call_id=call_id), HumanMessage(text)]
    return [message, HumanMessage(text)]
