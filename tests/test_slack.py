"""Slack: every post the policy requires renders as valid Block Kit, and is posted exactly once.

Delivery runs against a real HTTP server standing in for the Slack Web API (``StandIn``): it
records every request, serves chat.postMessage, chat.update and conversations.history as Slack
documents them, and can answer a rate limit (HTTP 429, ``Retry-After: 1``) or take a post and
then drop the connection before answering, as a crash between the post and its record would.
slack_sdk itself is never mocked.
"""

import datetime as dt
import enum
import http.server
import json
import pathlib
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, MutableMapping
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip(
    "slack_sdk", reason="slack_sdk is not installed: pip install 'escalation-policy[slack]'"
)

from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler
from slack_sdk.models.blocks import Block

from escalation_policy import Action, PolicyEngine, Service, load_policy
from escalation_policy.rules import PostReason, PostToChannel
from escalation_policy.slack import (
    EVENT_TYPE,
    SlackDeliveryError,
    SlackMessage,
    SlackPoster,
    SQLiteRecords,
    escape,
    is_post,
    message,
)
from escalation_policy.state import EscalationState
from tests.conftest import examples

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.jsonl"))
LATER_PROCESS = ROOT / "examples" / "policies" / "later_process"
DOC = "https://docs.example.com/esc-101-tracker"
CHANNEL_ID = "C0ESCALATED"
CHANNELS = {"#escalated_customers": CHANNEL_ID}


def facts(path: pathlib.Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def posts_with_states(
    path: pathlib.Path, engine: PolicyEngine
) -> list[tuple[Action, EscalationState]]:
    """Each post action of the history at ``path``, with its escalation's state right after
    the decision that emitted it."""
    found = []
    for fact in facts(path):
        for action in engine.handle(fact).actions:
            if is_post(action):
                state = engine.escalation(action.escalation_id)
                assert state is not None, f"{action.escalation_id} is gone after {action.TYPE}"
                found.append((action, state))
    return found


def first_post(path: pathlib.Path = ROOT / "examples" / "critical-outage.jsonl") -> Any:
    return posts_with_states(path, PolicyEngine())[0]


def units(text: str) -> int:
    """A text's length as Slack counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def block_kit_problems(rendered: SlackMessage) -> list[str]:
    """What in the message breaks Block Kit's rules or its limits (none: it is valid)."""
    problems = []
    reparsed = [Block.parse(block) for block in rendered.blocks]
    if rendered.blocks != [block.to_dict() for block in reparsed if block is not None]:
        problems.append("the blocks do not round-trip through slack_sdk's Block.parse")
    if not 1 <= units(rendered.text) <= 3000:
        problems.append(f"text of {units(rendered.text)} characters")
    if len(rendered.blocks) > 50:
        problems.append(f"{len(rendered.blocks)} blocks")
    for block in rendered.blocks:
        texts: list[tuple[str, int]] = []
        if block["type"] == "header":
            texts.append((block["text"]["text"], 150))
        elif block["type"] == "section":
            if len(block.get("fields", ())) > 10:
                problems.append(f"a section of {len(block['fields'])} fields")
            texts += [(field["text"], 2000) for field in block.get("fields", ())]
            if "text" in block:
                texts.append((block["text"]["text"], 3000))
        elif block["type"] == "context":
            if len(block["elements"]) > 10:
                problems.append(f"a context of {len(block['elements'])} elements")
            texts += [(element["text"], 2000) for element in block["elements"]]
        problems += [
            f"a {block['type']} text of {units(text)} characters (limit {limit})"
            for text, limit in texts
            if not 1 <= units(text) <= limit
        ]
    return problems


def mrkdwn_texts(rendered: SlackMessage) -> list[str]:
    found = []
    for block in rendered.blocks:
        items = [*block.get("fields", ()), *block.get("elements", ())]
        if isinstance(block.get("text"), dict):
            items.append(block["text"])
        found += [item["text"] for item in items if item.get("type") == "mrkdwn"]
    return found


def header(rendered: SlackMessage) -> str:
    return str(rendered.blocks[0]["text"]["text"])


# ------------------------------------------------------------------------------------ rendering
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_post_of_every_example_renders_to_valid_block_kit(path: pathlib.Path) -> None:
    posts = posts_with_states(path, PolicyEngine())
    assert posts, f"{path.name} has no post to render"
    for action, state in posts:
        rendered = message(action, state, document=DOC)
        assert [] == block_kit_problems(rendered), f"{action}"
        customer = state.attributes["customer"]
        severity = state.attributes["severity"].label
        assert (True, True) == (customer in rendered.text, f"{severity} severity" in rendered.text)


def test_the_created_post_shows_the_escalation_as_the_handbook_words_it() -> None:
    action, state = first_post()
    expected_text = (
        "New post for Globex Corporation: Critical severity, owned by TAM; status: Active. "
        f"Tracker document: {DOC}"
    )
    expected_blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "New: Globex Corporation"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "verbatim": True, "text": "*Customer*\nGlobex Corporation"},
                {"type": "mrkdwn", "verbatim": True, "text": "*Severity*\nCritical"},
                {"type": "mrkdwn", "verbatim": True, "text": "*Segment*\nEnterprise"},
                {"type": "mrkdwn", "verbatim": True, "text": "*Owner*\nTAM"},
                {"type": "mrkdwn", "verbatim": True, "text": "*TAM*\nPriya Raman"},
                {
                    "type": "mrkdwn",
                    "verbatim": True,
                    "text": "*Involvement*\nVP of Sales, Product, CRO, CEO, VP of Customer Success",
                },
                {"type": "mrkdwn", "verbatim": True, "text": "*Cadence*\nDaily"},
                {
                    "type": "mrkdwn",
                    "verbatim": True,
                    "text": f"*Tracker document*\n<{DOC}|Open the tracker document>",
                },
            ],
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "verbatim": True, "text": "*Status:* Active"},
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "verbatim": True,
                "text": "*Executive summary*\nSelf-managed instance down after upgrade; "
                "CI pipelines blocked for 4,000 developers",
            },
        },
        {"type": "divider"},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "verbatim": True, "text": "ESC-101"},
                {
                    "type": "mrkdwn",
                    "verbatim": True,
                    "text": "TAM posts to #escalated_customers by "
                    "<!date^1772449920^{date_short_pretty} at {time}|2026-03-02 11:12 UTC>",
                },
                {
                    "type": "mrkdwn",
                    "verbatim": True,
                    "text": "Required by Communication Process; "
                    "Responsibilities &gt; Medium and Low Level Issues",
                },
            ],
        },
    ]
    actual = message(action, state, document=DOC)
    assert SlackMessage(text=expected_text, blocks=expected_blocks) == actual


@pytest.mark.parametrize(
    ("reason", "title"),
    [
        ("created", "New"),
        ("update", "Update"),
        ("closed", "Closure"),
        ("risk_reduced", "Risk-reduced"),
    ],
)
def test_each_reason_is_posted_as_its_template(reason: str, title: str) -> None:
    action, state = first_post()
    post = attrs.evolve(action, reason=PostReason(reason))
    assert f"{title}: Globex Corporation" == header(message(post, state))


def test_the_status_shows_the_engagement_status_and_milestones() -> None:
    engine = PolicyEngine()
    history = facts(ROOT / "examples" / "critical-outage.jsonl")
    posts = [
        (action, engine.escalation(action.escalation_id))
        for fact in history
        for action in engine.handle(fact).actions
        if isinstance(action, PostToChannel)
    ]
    action, state = next((a, s) for a, s in posts if s and s.attributes["milestones"])
    assert state is not None
    rendered = message(action, state)
    expected = (
        "*Status:* Active \u00b7 Root cause identified: database migration timeout\n"
        "*Milestones:*\n\u2022 Hotfix build\n\u2022 Customer upgrade window"
    )
    assert expected in mrkdwn_texts(rendered)


def test_a_state_read_back_from_a_store_renders_as_the_engines_does(
    tmp_path: pathlib.Path,
) -> None:
    """A stored state holds the owner, roles and cadence as text: they read the same."""
    history = facts(ROOT / "examples" / "critical-outage.jsonl")
    engine = PolicyEngine()
    from_engine, from_store = [], []
    url = f"sqlite:///{tmp_path / 'store.db'}"
    # A second service on the store reads the states back from their JSON text (the one that
    # wrote them keeps its own records).
    with Service(url) as service, Service(url) as reader:
        for fact in history:
            actions = service.handle(fact).actions
            assert engine.handle(fact).actions == actions
            for action in actions:
                if isinstance(action, PostToChannel):
                    in_memory = engine.escalation(action.escalation_id)
                    stored = reader.escalation(action.escalation_id)
                    assert in_memory is not None
                    assert stored is not None
                    assert isinstance(stored.owner, str)
                    assert not isinstance(stored.owner, enum.Enum)
                    from_engine.append(message(action, in_memory, document=DOC))
                    from_store.append(message(action, stored, document=DOC))
    assert from_engine
    assert from_engine == from_store


def test_user_text_is_escaped_for_mrkdwn() -> None:
    action, state = first_post()
    hostile = attrs.evolve(
        state,
        customer="<!channel> Tom & Jerry <@U123|boss>",
        summary="a > b & <https://evil.example|click>",
    )
    rendered = message(action, hostile)
    assert "*Customer*\n&lt;!channel&gt; Tom &amp; Jerry &lt;@U123|boss&gt;" in mrkdwn_texts(
        rendered
    )
    assert "*Executive summary*\na &gt; b &amp; &lt;https://evil.example|click&gt;" in (
        mrkdwn_texts(rendered)
    )
    commands = [
        text
        for text in mrkdwn_texts(rendered)
        if "<@" in text or "<!" in text.replace("<!date^", "")
    ]
    assert [] == commands
    # Plain text shows what was typed; the fallback is escaped like mrkdwn.
    assert "New: <!channel> Tom & Jerry <@U123|boss>" == header(rendered)
    assert "&lt;!channel&gt; Tom &amp; Jerry" in rendered.text
    assert "a &amp; b &lt;c&gt;" == escape("a & b <c>")


def test_a_long_value_is_cut_with_an_ellipsis_and_never_inside_an_entity() -> None:
    action, state = first_post()
    rendered = message(action, attrs.evolve(state, customer="&" * 3000))
    field = next(text for text in mrkdwn_texts(rendered) if text.startswith("*Customer*"))
    assert (True, "&amp;\u2026") == (units(field) <= 2000, field[-6:])
    assert 150 == units(header(rendered))
    assert header(rendered).endswith("\u2026")


def test_text_beyond_the_basic_plane_is_counted_as_slack_counts_it() -> None:
    action, state = first_post()
    rendered = message(action, attrs.evolve(state, customer="\U0001f525" * 200))
    assert [] == block_kit_problems(rendered)
    assert 150 >= units(header(rendered))


LONG_TEXT = st.text(max_size=40) | st.builds(
    lambda piece, times: piece * times, st.text(min_size=1, max_size=3), st.integers(100, 3000)
)
"""Text of any length, absurdly long often: a short piece (``&``, an emoji) many times over."""


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    customer=LONG_TEXT.filter(bool),
    summary=st.none() | LONG_TEXT,
    engagement_status=st.none() | LONG_TEXT,
    milestones=st.lists(LONG_TEXT, max_size=30).map(tuple),
    tam=st.none() | LONG_TEXT,
    document=st.none() | LONG_TEXT | st.builds(lambda path: f"https://x.example/{path}", LONG_TEXT),
    channel=LONG_TEXT.filter(bool),
)
def test_block_kit_limits_hold_for_absurdly_long_inputs(
    customer: str,
    summary: str | None,
    engagement_status: str | None,
    milestones: tuple[str, ...],
    tam: str | None,
    document: str | None,
    channel: str,
) -> None:
    action, state = first_post()
    state = attrs.evolve(
        state,
        customer=customer,
        summary=summary,
        engagement_status=engagement_status,
        milestones=milestones,
        tam=tam,
    )
    rendered = message(attrs.evolve(action, channel=channel), state, document=document)
    assert [] == block_kit_problems(rendered)


def test_another_policys_posts_render_from_their_own_fields() -> None:
    policy = load_policy(str(LATER_PROCESS))
    rendered = []
    for path in sorted((LATER_PROCESS / "examples").glob("*.jsonl")):
        for action, state in posts_with_states(path, PolicyEngine(policy)):
            result = message(action, state, document=DOC, policy=policy)
            assert [] == block_kit_problems(result), f"{action}"
            assert state.attributes["customer"] in result.text
            assert f"{state.attributes['severity'].label} severity" in result.text
            rendered.append((action.TYPE, header(result)))
    assert ("post_message", "New: Globex") in rendered
    assert ("message_due", "Closure: Globex") in rendered
    new = next(
        message(action, state, policy=policy)
        for action, state in posts_with_states(
            LATER_PROCESS / "examples" / "critical-product-outage.jsonl", PolicyEngine(policy)
        )
        if action.TYPE == "post_message"
    )
    fields = mrkdwn_texts(new)
    assert "*Dedicated channel*\n#esc_globex" in fields
    assert (
        "*CRM case*\n<https://crm.example.com/cases/ESC-710|crm.example.com/cases/ESC-710>"
        in fields
    )
    assert "*DRI*\nCustomer success manager" in fields


def test_an_action_that_is_not_a_post_is_refused() -> None:
    engine = PolicyEngine()
    actions = engine.handle(facts(ROOT / "examples" / "critical-outage.jsonl")[0]).actions
    other = next(action for action in actions if not is_post(action))
    state = engine.escalation(other.escalation_id)
    assert state is not None
    with pytest.raises(ValueError, match=f"got a '{other.TYPE}' action, expected a post"):
        message(other, state)


def test_the_state_of_another_escalation_is_refused() -> None:
    action, state = first_post()
    other = attrs.evolve(state, escalation_id="ESC-999")
    with pytest.raises(ValueError, match="got the state of 'ESC-999' for a post about 'ESC-101'"):
        message(action, other)


def test_only_a_web_address_is_linked_as_the_tracker_document() -> None:
    action, state = first_post()
    fields = [
        mrkdwn_texts(message(action, state, document=document))[7]
        for document in ("javascript:alert(1)", "https://x.example/a b|c>d")
    ]
    assert [
        "*Tracker document*\njavascript:alert(1)",
        "*Tracker document*\n<https://x.example/a%20b%7Cc%3Ed|Open the tracker document>",
    ] == fields


def test_without_slack_sdk_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    action, state = first_post()
    for name in ("slack_sdk.models.blocks", "slack_sdk.http_retry"):
        monkeypatch.setitem(sys.modules, name, None)  # as if slack_sdk were not installed
    with pytest.raises(ImportError, match=r"pip install 'escalation-policy\[slack\]'"):
        message(action, state)
    with pytest.raises(ImportError, match=r"pip install 'escalation-policy\[slack\]'"):
        SlackPoster(WebClient(token="xoxb-test"), {})


# ------------------------------------------------------------- a stand-in for the Slack Web API
@attrs.define
class StandIn:
    """The Slack Web API, as far as posting needs it, with faults on demand."""

    url: str = ""
    channels: dict[str, str] = attrs.field(factory=lambda: dict(CHANNELS))
    messages: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    """Each channel's messages by its id, oldest first."""
    calls: list[tuple[str, dict[str, Any]]] = attrs.field(factory=list)
    rate_limit: dict[str, int] = attrs.field(factory=dict)
    """How many of each method's next calls are answered 429, Retry-After: 1."""
    drop_after_post: int = 0
    """How many of the next posts are taken and then left unanswered (connection closed)."""
    drop_before_post: int = 0
    """How many of the next posts are left unanswered without being taken."""
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    last_ts: float = 0.0

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    def posted(self) -> list[dict[str, Any]]:
        return [item for messages in self.messages.values() for item in messages]

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """The HTTP status and JSON body for one call (``None``: drop the connection)."""
        with self.lock:
            self.calls.append((method, params))
            if self.rate_limit.get(method):
                self.rate_limit[method] -= 1
                return 429, {"ok": False, "error": "ratelimited"}
            if method == "chat.postMessage":
                return self._post(params)
            if method == "chat.update":
                return self._update(params)
            if method == "conversations.history":
                return self._history(params)
            return 200, {"ok": False, "error": "unknown_method"}

    def _channel(self, given: object) -> str | None:
        if given in self.channels.values():
            return str(given)
        return self.channels.get(str(given))

    def _post(self, params: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        if self.drop_before_post:
            self.drop_before_post -= 1
            return 200, None
        channel = self._channel(params.get("channel"))
        if channel is None:
            return 200, {"ok": False, "error": "channel_not_found"}
        self.last_ts = max(time.time(), self.last_ts + 0.000001)
        item = {
            "type": "message",
            "ts": f"{self.last_ts:.6f}",
            "text": params["text"],
            "blocks": params.get("blocks"),
            "metadata": params.get("metadata"),
        }
        self.messages.setdefault(channel, []).append(item)
        if self.drop_after_post:
            self.drop_after_post -= 1
            return 200, None
        return 200, {"ok": True, "channel": channel, "ts": item["ts"], "message": item}

    def _update(self, params: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        for item in self.messages.get(str(params.get("channel")), []):
            if item["ts"] == params.get("ts"):
                item.update(text=params["text"], blocks=params.get("blocks"))
                if params.get("metadata"):
                    item["metadata"] = params["metadata"]
                return 200, {"ok": True, "channel": params["channel"], "ts": item["ts"]}
        return 200, {"ok": False, "error": "message_not_found"}

    def _history(self, params: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        channel = params.get("channel")
        if channel not in self.channels.values():  # Slack wants the id, not the name
            return 200, {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        newest_first = [
            item
            for item in reversed(self.messages.get(str(channel), []))
            if float(item["ts"]) > oldest
        ]
        start, size = int(params.get("cursor") or 0), int(params.get("limit") or 100)
        page = newest_first[start : start + size]
        if str(params.get("include_all_metadata")) not in ("1", "true", "True"):
            page = [{k: v for k, v in item.items() if k != "metadata"} for item in page]
        more = start + size < len(newest_first)
        return 200, {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + size) if more else ""},
        }


def handler_for(stand_in: StandIn) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            url = urllib.parse.urlsplit(self.path)
            params: dict[str, Any] = dict(urllib.parse.parse_qsl(url.query))
            if self.headers.get("Content-Type", "").startswith("application/json"):
                params.update(json.loads(body or "{}"))
            else:
                params.update(urllib.parse.parse_qsl(body))
            status: int
            answer: dict[str, Any] | None = {"ok": False, "error": "not_authed"}
            if self.headers.get("Authorization") != "Bearer xoxb-test":
                status = 200
            else:
                status, answer = stand_in.answer(url.path.rsplit("/", 1)[-1], params)
            if answer is None:  # taken, but the answer never arrives
                self.close_connection = True
                return
            data = json.dumps(answer).encode()
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the stand-in's calls are in StandIn.calls

    return Handler


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)  # WebClient would send 127.0.0.1 through it
    stand_in = StandIn()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(stand_in))
    server.daemon_threads = True
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stand_in
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def records(tmp_path: pathlib.Path) -> Iterator[SQLiteRecords]:
    with SQLiteRecords(tmp_path / "slack.db") as opened:
        yield opened


def client(slack: StandIn) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.url)


def poster(slack: StandIn, records: MutableMapping[str, str], **options: Any) -> SlackPoster:
    options.setdefault("channels", CHANNELS)
    return SlackPoster(client(slack), records, **options)


def rendered_post() -> tuple[PostToChannel, SlackMessage]:
    action, state = first_post()
    return action, message(action, state, document=DOC)


# ------------------------------------------------------------------------------------- delivery
def test_a_post_carries_its_action_id_and_a_retried_delivery_posts_nothing(
    slack: StandIn, records: SQLiteRecords
) -> None:
    action, rendered = rendered_post()
    first = poster(slack, records).post("ESC-101/5", rendered, channel=action.channel)
    again = poster(slack, records).post("ESC-101/5", rendered, channel=action.channel)
    [posted] = slack.posted()
    assert {"event_type": EVENT_TYPE, "event_payload": {"action_id": "ESC-101/5"}} == (
        posted["metadata"]
    )
    assert (rendered.text, rendered.blocks) == (posted["text"], posted["blocks"])
    assert (CHANNEL_ID, posted["ts"], True) == (first.channel, first.ts, first.new)
    assert attrs.evolve(first, new=False) == again
    assert ["chat.postMessage"] == slack.methods()


def test_a_rate_limited_post_waits_and_is_posted_once(
    slack: StandIn, records: SQLiteRecords
) -> None:
    action, rendered = rendered_post()
    slack.rate_limit["chat.postMessage"] = 1
    started = time.monotonic()
    post = poster(slack, records).post("ESC-101/5", rendered, channel=action.channel)
    assert ["chat.postMessage", "chat.postMessage"] == slack.methods()
    assert [post.ts] == [item["ts"] for item in slack.posted()]
    assert time.monotonic() - started >= 1  # Retry-After: 1 was honoured


def test_a_connection_lost_after_slack_took_the_post_does_not_post_twice(
    slack: StandIn, records: SQLiteRecords
) -> None:
    action, rendered = rendered_post()
    slack.drop_after_post = 1
    with pytest.raises(SlackDeliveryError) as caught:
        poster(slack, records).post("ESC-101/5", rendered, channel=action.channel)
    assert (True, None) == (caught.value.pending, caught.value.slack_error)
    assert "unknown" in str(caught.value)
    assert "pending" in json.loads(records["ESC-101/5"])
    # The delivery is tried again (the outbox's lease ran out): it is found, not posted again.
    retried = poster(slack, records).post("ESC-101/5", rendered, channel=action.channel)
    [posted] = slack.posted()
    assert (posted["ts"], False) == (retried.ts, retried.new)
    assert ["chat.postMessage", "conversations.history"] == slack.methods()
    assert "1" == slack.calls[1][1]["include_all_metadata"]
    assert {"channel": CHANNEL_ID, "ts": posted["ts"]} == json.loads(records["ESC-101/5"])


class Crash(BaseException):
    """The process dies: nothing after it runs."""


class DiesBeforeRecordingThePost(dict[str, str]):
    """Records that take the pending mark, and kill the process when the post is recorded."""

    def __init__(self, keep: MutableMapping[str, str]) -> None:
        super().__init__()
        self.keep = keep

    def get(self, key: str, default: Any = None) -> Any:
        return self.keep.get(key, default)

    def __setitem__(self, key: str, value: str) -> None:
        if "ts" in json.loads(value):
            raise Crash
        self.keep[key] = value


def test_a_crash_between_the_post_and_its_record_does_not_post_twice(
    slack: StandIn, tmp_path: pathlib.Path
) -> None:
    action, rendered = rendered_post()
    with SQLiteRecords(tmp_path / "slack.db") as before_the_crash, pytest.raises(Crash):
        poster(slack, DiesBeforeRecordingThePost(before_the_crash)).post(
            "ESC-101/5", rendered, channel=action.channel
        )
    with SQLiteRecords(tmp_path / "slack.db") as after_the_restart:
        post = poster(slack, after_the_restart).post("ESC-101/5", rendered, channel=action.channel)
        assert post == poster(slack, after_the_restart).posted("ESC-101/5")
    assert [(post.ts, False)] == [(item["ts"], post.new) for item in slack.posted()]
    assert ["chat.postMessage", "conversations.history"] == slack.methods()


def test_a_post_lost_before_slack_took_it_is_posted_on_the_next_try(
    slack: StandIn, records: SQLiteRecords
) -> None:
    action, rendered = rendered_post()
    slack.drop_before_post = 1
    with pytest.raises(SlackDeliveryError):
        poster(slack, records).post("ESC-101/5", rendered, channel=action.channel)
    post = poster(slack, records).post("ESC-101/5", rendered, channel=action.channel)
    assert [(post.ts, True)] == [(item["ts"], post.new) for item in slack.posted()]
    assert ["chat.postMessage", "conversations.history", "chat.postMessage"] == slack.methods()


def test_rate_limits_lost_connections_and_retries_together_post_once(
    slack: StandIn, records: SQLiteRecords
) -> None:
    action, rendered = rendered_post()
    slack.drop_after_post = 1
    slack.rate_limit["conversations.history"] = 1
    deliverer = poster(slack, records)
    with pytest.raises(SlackDeliveryError):
        deliverer.post("ESC-101/5", rendered, channel=action.channel)
    for _ in range(3):
        deliverer.post("ESC-101/5", rendered, channel=action.channel)
    assert 1 == len(slack.posted())
    assert 1 == slack.methods().count("chat.postMessage")


def test_a_post_slack_refuses_names_slacks_error_and_records_nothing(
    slack: StandIn, records: SQLiteRecords
) -> None:
    _, rendered = rendered_post()
    with pytest.raises(SlackDeliveryError, match="channel_not_found") as caught:
        poster(slack, records).post("ESC-101/5", rendered, channel="#nowhere")
    assert ("channel_not_found", False) == (caught.value.slack_error, caught.value.pending)
    assert ({}, []) == (dict(records), slack.posted())


def test_a_pending_post_to_a_channel_name_asks_for_the_channels_id(
    slack: StandIn, records: SQLiteRecords
) -> None:
    action, rendered = rendered_post()
    slack.drop_after_post = 1
    by_name = poster(slack, records, channels={})
    with pytest.raises(SlackDeliveryError):
        by_name.post("ESC-101/5", rendered, channel=action.channel)
    with pytest.raises(SlackDeliveryError, match=r"channels=\{'#escalated_customers'") as caught:
        by_name.post("ESC-101/5", rendered, channel=action.channel)
    assert ("channel_not_found", True) == (caught.value.slack_error, caught.value.pending)
    assert 1 == len(slack.posted())


def test_an_update_edits_the_message_first_posted(slack: StandIn, records: SQLiteRecords) -> None:
    engine = PolicyEngine()
    history = facts(ROOT / "examples" / "critical-outage.jsonl")
    action = next(a for a in engine.handle(history[0]).actions if isinstance(a, PostToChannel))
    before = engine.escalation(action.escalation_id)
    assert before is not None
    deliverer = poster(slack, records)
    post = deliverer.post(
        "ESC-101/5", message(action, before, document=DOC), channel=action.channel
    )
    for fact in history[1:4]:  # the created post, a meeting, a new engagement status
        engine.handle(fact)
    after = engine.escalation(action.escalation_id)
    assert after is not None
    edited = deliverer.update("ESC-101/5", message(action, after, document=DOC))
    [item] = slack.posted()
    assert (post.ts, post.channel) == (edited.ts, edited.channel) == (item["ts"], CHANNEL_ID)
    assert message(action, after, document=DOC).blocks == item["blocks"]
    assert "ESC-101/5" == item["metadata"]["event_payload"]["action_id"]


def test_an_action_never_posted_cannot_be_updated(slack: StandIn, records: SQLiteRecords) -> None:
    _, rendered = rendered_post()
    with pytest.raises(SlackDeliveryError, match="'ESC-101/5': it was never posted"):
        poster(slack, records).update("ESC-101/5", rendered)
    assert [] == slack.methods()


def test_the_poster_leaves_the_callers_client_as_it_was(slack: StandIn) -> None:
    """Connection retries of chat.postMessage could post twice: the poster's copy drops them."""
    given = client(slack)
    handlers = list(given.retry_handlers)
    SlackPoster(given, {})
    assert handlers == given.retry_handlers
    assert [ConnectionErrorRetryHandler] == [type(handler) for handler in given.retry_handlers]


def test_the_service_outbox_is_delivered_to_slack_once(
    slack: StandIn, records: SQLiteRecords
) -> None:
    """Each post is delivered twice (its first ack is lost): it is posted once."""
    now = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)
    deliverer = poster(slack, records)
    delivered: list[str] = []
    with Service(":memory:") as service:
        service.handle(facts(ROOT / "examples" / "critical-outage.jsonl")[0])
        while service.outbox(delivered=False):
            for delivery in service.claim(now):
                if is_post(delivery.action):
                    state = service.escalation(delivery.action.escalation_id)
                    assert state is not None
                    deliverer.deliver(delivery, state, document=DOC)
                    delivered.append(delivery.id)
                    if delivered.count(delivery.id) == 1:
                        continue  # the ack is lost: the lease runs out, it is claimed again
                service.ack([delivery.id], now)
            now += dt.timedelta(minutes=10)
    assert 2 <= len(delivered)
    assert sorted(set(delivered)) == sorted(
        item["metadata"]["event_payload"]["action_id"] for item in slack.posted()
    )
    assert len(set(delivered)) == slack.methods().count("chat.postMessage")


def test_sqlite_records_keep_what_was_written_after_reopening(tmp_path: pathlib.Path) -> None:
    with SQLiteRecords(tmp_path / "slack.db") as records:
        records["ESC-1/1"] = "one"
        records["ESC-1/2"] = "two"
        records["ESC-1/1"] = "first"
        del records["ESC-1/2"]
    with SQLiteRecords(tmp_path / "slack.db") as reopened:
        assert {"ESC-1/1": "first"} == dict(reopened)
        assert (1, None) == (len(reopened), reopened.get("ESC-1/2"))
        with pytest.raises(KeyError):
            del reopened["ESC-1/2"]


# ------------------------------------------------------------------------ posts that say the news
def section_texts(rendered: SlackMessage) -> list[str]:
    return [
        block["text"]["text"]
        for block in rendered.blocks
        if block["type"] == "section" and "text" in block
    ]


def later_posts(name: str = "critical-product-outage.jsonl") -> list[tuple[Action, Any]]:
    policy = load_policy(str(LATER_PROCESS))
    return posts_with_states(LATER_PROCESS / "examples" / name, PolicyEngine(policy))


def test_an_update_says_what_changed_since_the_last_post() -> None:
    """The severity rose and the owner changed since the New post: the Update says so first,
    old value and new; what did not change is not listed."""
    action, state = first_post()
    update = attrs.evolve(action, reason=PostReason.UPDATE)
    raised = attrs.evolve(state, severity=type(state.severity).HIGH, owner="support")
    rendered = message(update, state, since=raised)
    expected = (
        "*What changed since the last post*\n"
        "\u2022 *Severity:* High \u2192 Critical\n"
        "\u2022 *Owner:* Support \u2192 TAM"
    )
    assert expected == section_texts(rendered)[0]
    assert rendered.text.endswith("Changed since the last post: Severity, Owner.")


def test_the_last_posts_message_serves_as_since_as_well_as_its_state() -> None:
    action, state = first_post()
    update = attrs.evolve(action, reason=PostReason.UPDATE)
    later = attrs.evolve(state, summary="Hotfix deployed", milestones=("Monitor for 48h",))
    from_state = message(update, later, since=state)
    from_message = message(update, later, since=message(action, state))
    assert from_state == from_message
    assert (
        "*What changed since the last post*\n"
        "\u2022 *Milestones:* - \u2192 Monitor for 48h\n"
        "\u2022 *Executive summary:* Self-managed instance down after upgrade; CI pipelines "
        "blocked for 4,000 developers \u2192 Hotfix deployed"
    ) == section_texts(from_state)[0]


def test_an_update_with_no_news_says_nothing_changed_and_a_new_post_compares_nothing() -> None:
    action, state = first_post()
    update = attrs.evolve(action, reason=PostReason.UPDATE)
    assert section_texts(message(update, state, since=state))[0].endswith(
        "Nothing: the escalation stands as the last post showed it."
    )
    assert message(action, state, since=state).blocks == message(action, state).blocks


def test_the_changes_of_hostile_text_are_escaped_and_stay_within_limits() -> None:
    action, state = first_post()
    update = attrs.evolve(action, reason=PostReason.UPDATE)
    before = attrs.evolve(state, summary="<!channel> *now*", milestones=("x" * 5000,) * 30)
    after = attrs.evolve(state, summary="<@U1> `a`", tam="&" * 3000, customer="<!here>")
    rendered = message(update, after, since=before)
    changes = section_texts(rendered)[0]
    assert "&lt;!channel&gt; \u2217now\u2217 \u2192 &lt;@U1&gt; \u02cba\u02cb" in changes
    assert [] == block_kit_problems(rendered)


def test_a_since_of_another_escalation_is_refused() -> None:
    action, state = first_post()
    with pytest.raises(ValueError, match="got the since of 'ESC-999' for a post about 'ESC-101'"):
        message(action, state, since=attrs.evolve(state, escalation_id="ESC-999"))
    with pytest.raises(TypeError, match="got dict for 'since'"):
        message(action, state, since={})  # type: ignore[arg-type]


def test_a_closure_shows_the_outcome_verdict_and_links_of_the_closing_fact() -> None:
    """The later process's closing fact records an outcome, the exit-criteria verdict, the
    root-cause analysis and the customer's agreement: its Closure shows them all."""
    policy = load_policy(str(LATER_PROCESS))
    action, state = next(
        (action, state)
        for action, state in later_posts()
        if getattr(action, "template", None) is not None and action.template.value == "closure"
    )
    outcome = next(
        text
        for text in section_texts(message(action, state, policy=policy))
        if text.startswith("*Closed*")
    )
    expected = (
        "*Closed* <!date^1772640000^{date_short_pretty} at {time}|2026-03-04 16:00 UTC>, "
        "2d 7h after it opened.\n"
        "\u2022 *Outcome:* Positive\n"
        "\u2022 *Customer agreement:* "
        "<https://crm.example.com/cases/ESC-710/agreement|Customer agreement>\n"
        "\u2022 *Exit criteria met:* yes (Pipelines green for 7 days)\n"
        "\u2022 *Root cause analysis:* "
        "<https://docs.example.com/rca/globex-runners|Root cause analysis>"
    )
    assert expected == outcome


def test_a_closure_without_agreement_or_verdict_says_so_and_links_no_script() -> None:
    policy = load_policy(str(LATER_PROCESS))
    action, state = later_posts()[-1]
    bare = attrs.evolve(
        state,
        customer_agreement="javascript:alert(1)",
        exit_criteria_met=None,
        root_cause_analysis=None,
    )
    outcome = next(
        text
        for text in section_texts(message(action, bare, policy=policy))
        if text.startswith("*Closed*")
    )
    assert "\u2022 *Customer agreement:* javascript:alert(1)" in outcome
    assert "\u2022 *Exit criteria met:* no verdict given (Pipelines green for 7 days)" in outcome
    assert "\u2022 *Root cause analysis:* none" in outcome


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_times_show_in_the_readers_zone_and_rule_ids_stay_out_of_the_way(
    path: pathlib.Path,
) -> None:
    engine = PolicyEngine()
    rule_ids = set(engine.policy.rules)
    for action, state in posts_with_states(path, engine):
        rendered = message(action, state)
        texts = " ".join(mrkdwn_texts(rendered)) + rendered.text
        assert "+00:00" not in texts
        assert [] == [rule for rule in rule_ids if rule in texts]
        due = int(action.due.timestamp())
        assert (
            f"<!date^{due}^{{date_short_pretty}} at {{time}}|"
            in rendered.blocks[-1]["elements"][1]["text"]
        )


def test_the_later_process_posts_show_about_ten_fields_in_one_order_with_real_labels() -> None:
    policy = load_policy(str(LATER_PROCESS))
    orders = set()
    for name in ("critical-product-outage.jsonl", "raised-to-high.jsonl", "non-compliant.jsonl"):
        for action, state in later_posts(name):
            rendered = message(action, state, policy=policy)
            fields = [f for block in rendered.blocks for f in block.get("fields", ())]
            titles = tuple(field["text"].split("\n")[0] for field in fields)
            orders.add(titles)
            values = [field["text"].split("\n", 1)[1] for field in fields]
            assert [] == [value for value in values if value in ("yes", "no")]
    assert {
        (
            "*Customer*",
            "*Severity*",
            "*DRI*",
            "*Status*",
            "*Dedicated channel*",
            "*CRM case*",
            "*Product DRI*",
            "*Support DRI*",
            "*Meeting notes*",
            "*Kept informed*",
        )
    } == orders


def test_channels_whose_ids_are_known_are_linked() -> None:
    policy = load_policy(str(LATER_PROCESS))
    action, state = later_posts()[0]
    channels = {"#ESC_globex": "C0GLOBEX", "escalated_customers": CHANNEL_ID}
    rendered = message(action, state, policy=policy, channels=channels)
    assert "*Dedicated channel*\n<#C0GLOBEX>" in mrkdwn_texts(rendered)
    assert f"Posted to <#{CHANNEL_ID}>" in mrkdwn_texts(rendered)
    unknown = message(action, state, policy=policy, channels={"#esc_globex": "<!channel>"})
    assert "*Dedicated channel*\n#esc_globex" in mrkdwn_texts(unknown)


def test_the_poster_tells_each_post_what_changed_since_the_last_one_it_delivered(
    slack: StandIn, records: SQLiteRecords
) -> None:
    """The host delivers the New post, the severity is lowered, then the Update goes out: it
    says what changed, and links the channel by its id."""
    deliverer = poster(slack, records)
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.timezone.utc)
    history = facts(ROOT / "examples" / "critical-outage.jsonl")
    with Service(":memory:") as service:
        service.handle(history[0])
        first = next(d for d in service.outbox() if is_post(d.action))
        state = service.escalation("ESC-101")
        assert state is not None
        deliverer.deliver(first, state)
        service.handle(
            {
                "type": "severity_changed",
                "at": now.isoformat(),
                "escalation_id": "ESC-101",
                "severity": "high",
            }
        )
        update = next(
            d
            for d in service.outbox()
            if isinstance(d.action, PostToChannel) and d.action.reason is PostReason.UPDATE
        )
        state = service.escalation("ESC-101")
        assert state is not None
        deliverer.deliver(update, state)
    new_post, update_post = slack.posted()
    assert "What changed" not in json.dumps(new_post["blocks"])
    changes = update_post["blocks"][1]["text"]["text"]
    assert changes.startswith("*What changed since the last post*\n")
    assert "\u2022 *Severity:* Critical \u2192 High" in changes
    assert f"<#{CHANNEL_ID}>" in json.dumps(update_post["blocks"])
