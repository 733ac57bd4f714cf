"""The demo's traffic: sample users, threads, posts, messages, reports and appeals, sent
through Coop's platform API like a real platform would.

`python -m coop.demo.feeder --url http://127.0.0.1:8000` with the API key in the environment
variable COOP_DEMO_API_KEY. It waits for Coop to answer, sends a first batch (a few hundred
items, some reports and appeals), then a few items every few seconds, a report now and then
(with the thread around a reported message) and occasionally an appeal, until stopped.
The generator is deterministic (`Generator(seed)`), so every demo starts with the same data.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx

API_KEY_ENV = "COOP_DEMO_API_KEY"
BATCH = 100

FIRST_NAMES = [
    "ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jade", "kofi",
    "lena", "mo", "nia", "omar", "pia", "quinn", "rosa", "sami", "tara", "uma", "vik",
    "wen", "xena", "yusuf", "zoe",
]  # fmt: skip
TOPICS = [
    "the new library hours", "tonight's game", "my sourdough starter", "the bus strike",
    "a good sci-fi book", "weekend hiking trails", "the chemistry midterm", "cheap lunch spots",
    "the farmers market", "learning Rust", "the campus radio show", "a lost umbrella",
]  # fmt: skip
CLEAN = [
    "Has anyone been to {topic}? Thinking of going this weekend.",
    "Honestly {topic} made my week. Thanks to everyone who helped!",
    "Quick question about {topic}: does anyone know more?",
    "Hot take: {topic} is overrated. Change my mind.",
    "Posting a few thoughts on {topic} later today.",
    "Class of 2024 reunion planning thread, details about {topic} soon.",
    "I assume the assessment covers {topic}, right?",
]  # fmt: skip
# Evasive versions of the demo banks' phrases: each should be caught by the scam rule.
SCAMS = [
    "Fr33 m0ney for the first 50 people, DM me now!!",
    "c.r.y.p.t.o g.i.v.e.a.w.a.y ends tonight, send 0.1 to get 1 back",
    "D\u043euble your b\u0456tcoin in 24h, guaranteed",  # Cyrillic o and i
    "Claaaim yourrr priiize here before it expires",
    "\uff26\uff32\uff25\uff25 \uff2d\uff2f\uff2e\uff25\uff39 giveaway",  # fullwidth letters
    "Verify your account at https://bit.ly/3xAmPl3 or it will be closed",
    "You won! Just pay the w-i-r-e transfer fee and the prize is yours",
    "Official support here: log in at https://tinyurl.com/acct-check to keep your page",
]  # fmt: skip
ABUSE = [
    "you are worthless, just leave",
    "nobody likes you, stop posting",
    "y0u are w0rthless lol",
]
MESSAGES = [
    "Are we still meeting at six?", "I'll bring the slides.", "Sounds good to me.",
    "Can someone share the notes from Tuesday?", "Running ten minutes late, sorry!",
    "Did you see the announcement?", "Thanks, that helps a lot.",
]  # fmt: skip
CAMPUS_GEOHASHES = ["9q9p3tv", "9q9p3ub", "9q9p3s8"]  # inside the demo's Campuses bank
OTHER_GEOHASHES = ["u4pruyd", "dr5regw", "gcpvj0d", "9q8yyk8"]
REPORT_REASONS = {
    "scams": ["this is a scam", "they asked me for money", "phishing link"],
    "spam": ["posted the same thing ten times", "advertising"],
    "harassment": ["they keep insulting me", "threatening messages"],
    "child-safety": ["this account seems to target kids"],
}


# Harmless images the fake platform serves (coop/demo/media); the known ones are in the
# demo's hash bank, so posting them enqueues their author to NCMEC review.
DEFAULT_MEDIA_URL = "http://127.0.0.1:8001/media/"
PHOTOS = ["park.png", "city.png", "beach.png", "garden.png"]
KNOWN_IMAGES = ["demo-known.png", "demo-known-edited.jpg"]


def _ref(item: dict) -> dict:
    return {"id": item["id"], "typeId": item["typeId"]}


class Generator:
    """Deterministic sample data; remembers what it generated so reports name real items."""

    def __init__(
        self, seed: int = 7, start: datetime | None = None, media_url: str = DEFAULT_MEDIA_URL
    ) -> None:
        self.media_url = media_url.rstrip("/") + "/"
        self.random = random.Random(seed)
        self.now = start or datetime.now(UTC)
        self.users: list[dict] = []
        self.threads: list[dict] = []
        self.posts: list[dict] = []
        self.messages: dict[str, list[dict]] = {}  # thread id -> its messages
        self.flagged: list[dict] = []  # items with scam or abusive text
        self.counter = 0

    def _next(self, prefix: str) -> str:
        self.counter += 1
        return f"demo-{prefix}-{self.counter}"

    def _time(self) -> str:
        self.now += timedelta(seconds=self.random.randint(5, 90))
        return self.now.isoformat(timespec="seconds").replace("+00:00", "Z")

    def user(self) -> dict:
        r = self.random
        name = r.choice(FIRST_NAMES)
        username = f"{name}{r.randint(1, 999)}"
        if r.random() < 0.1:
            username = f"{r.choice(['promo', 'deals', 'crypto'])}_{r.randint(10, 99)}"
        data = {
            "username": username,
            "bio": f"Into {r.choice(TOPICS)}.",
            "email": f"{username}@mail.example",
            "signupIp": f"203.0.113.{r.randint(1, 254)}",
            "joinedAt": self._time(),
        }
        item = {"id": self._next("user"), "typeId": "user", "data": data}
        self.users.append(item)
        return item

    def thread(self) -> dict:
        owner = self.random.choice(self.users)
        data = {"title": f"About {self.random.choice(TOPICS)}", "owner": _ref(owner)}
        item = {"id": self._next("thread"), "typeId": "thread", "data": data}
        self.threads.append(item)
        self.messages[item["id"]] = []
        return item

    def post(self) -> dict:
        r = self.random
        roll = r.random()
        data: dict = {"author": _ref(r.choice(self.users)), "createdAt": self._time()}
        if roll < 0.18:
            data["text"] = r.choice(SCAMS)
        elif roll < 0.26:
            data["text"] = f"Campus raffle! Free tickets for {r.choice(TOPICS)}"
            data["location"] = r.choice(CAMPUS_GEOHASHES)
        else:
            data["text"] = r.choice(CLEAN).format(topic=r.choice(TOPICS))
            if r.random() < 0.3:
                data["location"] = r.choice(CAMPUS_GEOHASHES + OTHER_GEOHASHES)
        data["likes"] = r.randint(0, 300)
        photo = r.random()
        if photo < 0.04:  # the known image of the demo's hash bank (or an edited copy of it)
            data["images"] = [self.media_url + r.choice(KNOWN_IMAGES)]
        elif photo < 0.25:
            data["images"] = [self.media_url + r.choice(PHOTOS)]
        item = {"id": self._next("post"), "typeId": "post", "data": data}
        if roll < 0.18:
            self.flagged.append(item)
        self.posts.append(item)
        return item

    def message(self) -> dict:
        r = self.random
        thread = r.choice(self.threads)
        earlier = self.messages[thread["id"]]
        roll = r.random()
        if roll < 0.1:
            body = r.choice(SCAMS)
        elif roll < 0.18:
            body = r.choice(ABUSE)
        else:
            body = r.choice(MESSAGES)
        data: dict = {
            "body": body,
            "author": _ref(r.choice(self.users)),
            "thread": _ref(thread),
            "sentAt": self._time(),
        }
        if earlier and r.random() < 0.5:
            data["replyTo"] = _ref(r.choice(earlier[-5:]))
        item = {"id": self._next("message"), "typeId": "message", "data": data}
        earlier.append(item)
        if roll < 0.18:
            self.flagged.append(item)
        return item

    def initial_items(self) -> list[dict]:
        """About three hundred items: users first, then threads, posts and messages."""
        items = [self.user() for _ in range(60)]
        items += [self.thread() for _ in range(12)]
        for _ in range(240):
            items.append(self.post() if self.random.random() < 0.6 else self.message())
        return items

    def tick_items(self) -> list[dict]:
        """A few new items: now and then a new user or thread, mostly posts and messages."""
        items = []
        if self.random.random() < 0.3:
            items.append(self.user())
        if self.random.random() < 0.1:
            items.append(self.thread())
        for _ in range(self.random.randint(2, 4)):
            items.append(self.post() if self.random.random() < 0.55 else self.message())
        return items

    def report(self) -> dict:
        """A user report, mostly of flagged items; a reported message carries its thread."""
        r = self.random
        pool = self.flagged if self.flagged and r.random() < 0.7 else self.posts
        item = r.choice(pool)
        text = item["data"].get("text") or item["data"].get("body") or ""
        if text in ABUSE:
            policy = "harassment"
        elif item in self.flagged:
            policy = "scams"
        else:
            others = ["spam", "harassment", "child-safety"]
            policy = r.choice(others) if r.random() < 0.3 else "spam"
        reporter = r.choice(self.users)
        body: dict = {
            "reporter": {"kind": "user", **_ref(reporter)},
            "reportedAt": self._time(),
            "reportedForReason": {"policyId": policy, "reason": r.choice(REPORT_REASONS[policy])},
            "reportedItem": item,
        }
        if item["typeId"] == "message":
            thread = self.messages[item["data"]["thread"]["id"]]
            at = thread.index(item)
            context = thread[max(0, at - 4) : at + 3]
            body["reportedItemThread"] = context
            body["reportedItemsInThread"] = [_ref(item)]
        return body

    def appeal(self) -> dict:
        """An author appeals the deletion of one of their flagged items (or of a post)."""
        r = self.random
        item = r.choice(self.flagged or self.posts)
        return {
            "appealId": self._next("appeal"),
            "appealedBy": item["data"]["author"],
            "appealedAt": self._time(),
            "actionedItem": item,
            "actionsTaken": ["delete"],
            "appealReason": r.choice(
                ["it was a joke", "my account was hacked", "this was satire", "I did nothing wrong"]
            ),
            "violatingPolicies": [{"id": "scams"}],
        }

    def initial_requests(self) -> Iterator[tuple[str, dict]]:
        """(path, body) of the first burst: items in batches, then reports and appeals."""
        items = self.initial_items()
        for start in range(0, len(items), BATCH):
            yield "/api/v1/items/async/", {"items": items[start : start + BATCH]}
        for _ in range(25):
            yield "/api/v1/report", self.report()
        for _ in range(6):
            yield "/api/v1/report/appeal", self.appeal()

    def tick_requests(self, tick: int) -> Iterator[tuple[str, dict]]:
        yield "/api/v1/items/async/", {"items": self.tick_items()}
        if tick % 2 == 0:
            yield "/api/v1/report", self.report()
        if tick % 7 == 3:
            yield "/api/v1/report/appeal", self.appeal()


class Feeder:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        seed: int = 7,
        interval: float = 4.0,
        media_url: str = DEFAULT_MEDIA_URL,
    ):
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(
            base_url=self.base_url, headers={"X-API-KEY": api_key}, timeout=30
        )
        self.generator = Generator(seed, media_url=media_url)
        self.interval = interval
        self.stop = threading.Event()
        self.sent = 0
        self.failed = 0

    def wait_for_coop(self) -> bool:
        """Wait until Coop answers its health check; False if stopped first."""
        while not self.stop.is_set():
            try:
                if self.client.get("/api/v1/health", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            self.stop.wait(0.5)
        return False

    def send(self, path: str, body: dict) -> None:
        for attempt in range(3):
            if self.stop.is_set():
                return
            try:
                response = self.client.post(path, json=body)
            except httpx.HTTPError as exc:
                error = str(exc)
            else:
                if response.status_code < 300:
                    self.sent += 1
                    return
                if response.status_code not in (429, 503):
                    self.failed += 1
                    print(f"demo feeder: {path} answered {response.status_code}: "
                          f"{response.text[:300]}", file=sys.stderr, flush=True)  # fmt: skip
                    return
                error = f"{response.status_code}"
            self.stop.wait(1 + attempt * 2)
        self.failed += 1
        print(f"demo feeder: {path} failed: {error}", file=sys.stderr, flush=True)

    def run(self) -> None:
        if not self.wait_for_coop():
            return
        for path, body in self.generator.initial_requests():
            self.send(path, body)
        tick = 0
        while not self.stop.wait(self.interval):
            for path, body in self.generator.tick_requests(tick):
                self.send(path, body)
            tick += 1
        self.client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="Coop's base URL")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--interval", type=float, default=4.0, help="seconds between sends")
    parser.add_argument(
        "--media-url", default=DEFAULT_MEDIA_URL, help="where the fake platform serves images"
    )
    args = parser.parse_args(argv)
    api_key = os.environ.get(API_KEY_ENV)
    if not api_key:
        sys.exit(f"{API_KEY_ENV} is not set")
    feeder = Feeder(
        args.url, api_key, seed=args.seed, interval=args.interval, media_url=args.media_url
    )
    signal.signal(signal.SIGTERM, lambda signum, frame: feeder.stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: feeder.stop.set())
    feeder.run()
    sys.exit(0)


if __name__ == "__main__":
    main()
