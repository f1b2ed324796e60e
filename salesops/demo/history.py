"""The CRM history: leads, customers, contacts, deals with their stage history, lines,
quotes, contracts, payment plans and payments, follow-ups, tasks, pool events, targets.

Pure Python, no database: `History(plan).chunks()` yields `(table key, [row, ...])`
with the values in the order of `tables.TABLES`. Everything is drawn from one
`random.Random` seeded with the plan's seed, in a fixed order, so the same seed (and
the same `today`) gives the same rows.

The work is streamed customer by customer, oldest first: a customer's contacts, deals
and everything under them are generated together, and the customer row last, when its
last follow-up and last won deal are known. Customers and deals are exact in number,
follow-ups are allotted exactly too; the rest follows from them.

This is the hot loop of `seed --scale 1m` (14 million rows): it works on ints (day
indexes, epoch seconds) and prebuilt strings, and binds what it uses to local names.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from salesops.demo import words
from salesops.demo.config import (
    PLAN_PRICES,
    REGION_TEAM,
    SIZE_BANDS,
    SIZE_PLANS,
    OrgPlan,
    StagePlan,
    UserPlan,
)

Row = tuple[Any, ...]

SIZES = ["micro", "small", "medium", "large"]
SIZE_WEIGHTS = [0.25, 0.42, 0.25, 0.08]
SIZE_AMOUNT = {"micro": 0.35, "small": 0.75, "medium": 1.6, "large": 4.0}
SIZE_CYCLE = {"micro": 0.6, "small": 0.85, "medium": 1.15, "large": 1.6}
SIZE_DEALS = {"micro": 0.6, "small": 0.9, "medium": 1.25, "large": 1.8}
#: contract terms in months, and how often each is chosen
TERMS = [(12, 0.7), (24, 0.15), (36, 0.1), (6, 0.05)]

# (kind, weight, duration range in minutes or None)
FOLLOWUP_KINDS = [
    ("call", 30, (3, 30)),
    ("visit", 11, (45, 150)),
    ("meeting", 12, (30, 90)),
    ("email", 16, None),
    ("message", 23, None),
    ("note", 8, None),
]
DAY = 86400
WORK_START = 8 * 3600 + 1800  # 08:30 local
WORK_SPAN = 11 * 3600  # until 19:30
#: the first days of the history, when the customers of before the go-live were entered
BASE_DAYS = 45

KEYS = [
    "lead", "customer", "customer_tag", "contact", "pool_event", "deal", "deal_collaborator",
    "stage_history", "deal_line", "quote", "quote_line", "contract", "payment_plan", "payment",
    "followup", "task", "target",
]  # fmt: skip


def _weighted_table(options: list[Any], weights: list[float], size: int = 200) -> list[Any]:
    """A lookup list where each option fills a share of the slots given by its weight:
    `table[int(random() * len(table))]` draws by weight in O(1)."""
    total = sum(weights)
    table: list[Any] = []
    acc = 0.0
    for opt, w in zip(options, weights, strict=True):
        acc += w
        while len(table) < round(size * acc / total):
            table.append(opt)
    return table


def allot(total: int, weights: list[float]) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder)."""
    s = sum(weights)
    if total <= 0 or s <= 0:
        return [0] * len(weights)
    exact = [total * w / s for w in weights]
    counts = [int(x) for x in exact]
    left = total - sum(counts)
    if left:
        order = sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])
        for i in order[:left]:
            counts[i] += 1
    return counts


class History:
    def __init__(self, plan: OrgPlan, *, chunk_rows: int = 20_000) -> None:
        self.plan = plan
        self.chunk_rows = chunk_rows
        self.rng = random.Random(f"{plan.seed}:history")
        self.tl = plan.timeline
        self.fmt = self.tl.formatter()
        self.zh = plan.locale == "zh-hans"
        self.buf: dict[str, list[Row]] = {key: [] for key in KEYS}
        self.ids: dict[str, Callable[[], int]] = {key: itertools.count(1).__next__ for key in KEYS}
        #: (rep id, month index) -> base-currency amount, for targets
        self.bookings: dict[tuple[int, int], float] = defaultdict(float)
        self.collections: dict[tuple[int, int], float] = defaultdict(float)
        #: customers held per rep (for the pool rule's cap)
        self.held: dict[int, int] = defaultdict(int)
        #: CPU seconds of the generator process, when it ran in one
        self.child_cpu = 0.0
        self._prepare_tables()

    # -- lookup tables -------------------------------------------------------------------
    def _prepare_tables(self) -> None:
        loc = self.plan.locale

        def table(key: str, weights: dict[str, float]) -> list[str]:
            values = self.plan.options.get(key) or list(weights)
            return _weighted_table(values, [weights.get(v, 1.0) for v in values])

        kind_table = _weighted_table(
            list(range(len(FOLLOWUP_KINDS))), [w for _k, w, _d in FOLLOWUP_KINDS]
        )
        subjects = words.FOLLOWUP_SUBJECTS[loc]
        endings = [(o, n) for o in words.OUTCOMES[loc] for n in words.NEXT_STEPS[loc]]
        kinds = [
            (
                kind,
                dur[0] if dur else 0,
                (dur[1] - dur[0]) if dur else 0,
                # every (subject, outcome, next step): one draw picks all three
                [(subject, o, n) for subject in subjects[kind] for o, n in endings],
            )
            for kind, _w, dur in FOLLOWUP_KINDS
        ]
        #: one entry per slot of the weighted table: (kind, min minutes, span, texts)
        self.fu_kinds = [kinds[k] for k in kind_table]
        self.source_table = table("lead_source", words.LEAD_SOURCE_WEIGHTS)
        self.industry_table = table("industry", words.INDUSTRY_WEIGHTS)
        self.region_table = table("region", words.REGION_WEIGHTS)
        self.lost_table = table("lost_reason", words.LOST_REASON_WEIGHTS)
        self.size_table = _weighted_table(SIZES, SIZE_WEIGHTS)
        self.titles = words.TITLES[loc]
        self.task_titles = words.TASK_TITLES[loc]
        self.lost_notes = words.LOST_NOTES[loc]
        self.lead_notes = words.LEAD_NOTES[loc]
        self.purposes = words.DEAL_PURPOSES[loc]
        days = self.plan.pool_days
        self.reasons = {k: v.format(days=days) for k, v in words.POOL_REASONS[loc].items()}
        tl = self.tl
        # the last day of the quarter of each day
        self.quarter_end = [0] * tl.n_days
        nxt = tl.n_days - 1
        for i in range(tl.n_days - 1, -1, -1):
            month = tl.date_str[i][5:7]
            if i == tl.n_days - 1 or (int(month) % 3 == 0 and tl.date_str[i + 1][5:7] != month):
                nxt = i
            self.quarter_end[i] = nxt
        # reps to choose from per customer region
        self.region_reps: dict[str, list[UserPlan]] = {}
        for region in set(self.region_table):
            reps = self.plan.reps_by_region.get(REGION_TEAM[region]) or self.plan.reps
            self.region_reps[region] = reps
        # the stage a quote is made in: the first that requires the amount, else the last
        # open one
        self.quote_order = {}
        for key, stages in self.plan.stages.items():
            opened = [s for s in stages if s.kind == "open"]
            gated = [s for s in opened if "amount" in s.required_fields]
            self.quote_order[key] = (gated or opened[-1:])[0].order

    # -- names ---------------------------------------------------------------------------
    def _person(self) -> tuple[str, str]:
        """(full name, ascii handle for e-mail)."""
        r = self.rng.random
        if self.zh:
            s, spy = words.ZH_SURNAMES[int(len(words.ZH_SURNAMES) * r() ** 1.6)]
            g1, g1py = words.ZH_GIVEN[int(len(words.ZH_GIVEN) * r())]
            if r() < 0.7:
                g2, g2py = words.ZH_GIVEN[int(len(words.ZH_GIVEN) * r())]
                return s + g1 + g2, f"{spy}.{g1py}{g2py}"
            return s + g1, f"{spy}.{g1py}"
        first = words.EN_FIRST[int(len(words.EN_FIRST) * r())]
        last = words.EN_LAST[int(len(words.EN_LAST) * r())]
        return f"{first} {last}", f"{first}.{last}".lower().replace("ü", "ue")

    def _company(self, region: str, industry: str) -> tuple[str, str, str, str]:
        """(full name, short name, web domain, address)."""
        r = self.rng.random
        cities = words.CITIES[region]
        city_zh, city_en = cities[int(len(cities) * r())]
        n = 1 + int(r() * 998)
        if self.zh and region != "overseas":
            brand, bpy = words.ZH_BRANDS[int(len(words.ZH_BRANDS) * r())]
            iw = words.ZH_INDUSTRY_WORDS[industry]
            ind = iw[int(len(iw) * r())]
            suffix = words.ZH_COMPANY_SUFFIXES[int(len(words.ZH_COMPANY_SUFFIXES) * r())]
            street = words.ZH_STREETS[int(len(words.ZH_STREETS) * r())]
            return (
                f"{city_zh}{brand}{ind}{suffix}",
                brand + ind,
                f"{bpy}-{industry}.example.com",
                f"{city_zh}市{street}{n}号",
            )
        brand = words.EN_BRANDS[int(len(words.EN_BRANDS) * r())]
        iw = words.EN_INDUSTRY_WORDS[industry]
        ind = iw[int(len(iw) * r())]
        suffix = words.EN_COMPANY_SUFFIXES[int(len(words.EN_COMPANY_SUFFIXES) * r())]
        street = words.EN_STREETS[int(len(words.EN_STREETS) * r())]
        domain = f"{brand}-{industry}.example.com".lower()
        return f"{brand} {ind} {suffix}", f"{brand} {ind}", domain, f"{n} {street}, {city_en}"

    def _mobile(self) -> str:
        r = self.rng.random
        if self.zh:
            return f"1{'35789'[int(r() * 5)]}{int(r() * 1e9):09d}"
        return f"+1 555 {int(r() * 1e7):07d}"

    def _landline(self) -> str:
        r = self.rng.random
        if self.zh:
            return f"0{10 + int(r() * 89)}-{60000000 + int(r() * 3e7)}"
        return f"+44 20 {int(r() * 1e8):08d}"

    def _at(self, day: int) -> int:
        """An instant in working hours of `day`."""
        return self.tl.midnight[day] + WORK_START + int(self.rng.random() * WORK_SPAN)

    # -- the stream ----------------------------------------------------------------------
    def chunks(self) -> Iterator[tuple[str, list[Row]]]:
        plan = self.plan
        scale = plan.scale
        rng = self.rng
        r = rng.random
        tl = self.tl
        T = tl.today_i
        n_c = scale.customers

        # customers: when they were created, oldest first
        n_base = round(n_c * 0.3)
        cdays = [tl.pick_day(0, BASE_DAYS, r()) for _ in range(n_base)]
        cdays += [tl.pick_day(BASE_DAYS, T - 2, r()) for _ in range(n_c - n_base)]
        cdays.sort()
        cust = []
        for i, cd in enumerate(cdays):
            region = self.region_table[int(r() * len(self.region_table))]
            reps = self.region_reps[region]
            owner = reps[int(r() * len(reps))]
            size = self.size_table[int(r() * len(self.size_table))]
            industry = self.industry_table[int(r() * len(self.industry_table))]
            from_lead = i >= n_base and r() < 0.8
            life_end = T
            if cd < T - 560 and r() < 0.2:  # it will stop buying: churn
                life_end = cd + 200 + int(r() * (T - 365 - cd - 200))
            potential = 0.0 if r() < 0.08 else min(rng.paretovariate(1.8), 15.0)
            weight = potential * SIZE_DEALS[size] * (tl.cum[life_end] - tl.cum[cd] + 5)
            cust.append((cd, region, owner, size, industry, from_lead, life_end, weight))
        deal_counts = allot(scale.deals, [c[7] for c in cust])

        # leads that never became customers, oldest first
        n_converted = sum(1 for c in cust if c[5])
        n_open_leads = max(0, round(n_c * scale.leads_per_customer) - n_converted)
        open_leads = []
        for _ in range(n_open_leads):
            day = tl.pick_day(0, T, r())
            age = T - day
            u = r()
            if age < 10:
                status = "new" if u < 0.6 else "contacted"
            elif age < 45:
                status = (
                    "new" if u < 0.15 else "contacted" if u < 0.6
                    else "qualified" if u < 0.8 else "unqualified"
                )  # fmt: skip
            else:
                status = (
                    "new" if u < 0.08 else "contacted" if u < 0.25
                    else "qualified" if u < 0.35 else "unqualified"
                )  # fmt: skip
            region = self.region_table[int(r() * len(self.region_table))]
            reps = self.region_reps[region]
            lead_owner = None if (status == "new" and r() < 0.5) else reps[int(r() * len(reps))]
            open_leads.append((day, status, lead_owner, region))
        open_leads.sort(key=lambda x: x[0])
        lead_fu_weights = [
            0.0 if (s == "new" or o is None) else 0.5 + r() for _d, s, o, _r in open_leads
        ]
        n_lead_fu = round(scale.followups * 0.05) if any(lead_fu_weights) else 0
        lead_fu = allot(n_lead_fu, lead_fu_weights)

        # follow-ups per customer, in proportion to its deals and its rep's habits
        fu_weights = [(deal_counts[i] + 0.6) * c[2].activity for i, c in enumerate(cust)]
        fu_counts = allot(scale.followups - n_lead_fu, fu_weights)

        buf = self.buf
        limit = self.chunk_rows
        next_lead = 0
        for i, c in enumerate(cust):
            while next_lead < len(open_leads) and open_leads[next_lead][0] <= c[0]:
                self._open_lead(*open_leads[next_lead], n_fu=lead_fu[next_lead])
                next_lead += 1
            self._customer(i + 1, c, deal_counts[i], fu_counts[i])
            if len(buf["followup"]) >= limit or i % 64 == 0:
                for key, rows in buf.items():
                    if len(rows) >= limit:
                        buf[key] = []
                        yield key, rows
        while next_lead < len(open_leads):
            self._open_lead(*open_leads[next_lead], n_fu=lead_fu[next_lead])
            next_lead += 1
        self._targets()
        for key, rows in buf.items():
            if rows:
                buf[key] = []
                yield key, rows
        plan.busiest = max(self.held.values(), default=0)

    # -- follow-ups ------------------------------------------------------------------------
    def _followups(
        self,
        n: int,
        owner: int,
        day_a: int,
        day_b: int,
        *,
        lead: int | None = None,
        customer: int | None = None,
        contact: int | None = None,
        contacts: list[int] | None = None,
        deal: int | None = None,
    ) -> int:
        """Write `n` follow-ups on days in [day_a, day_b), in time order; return the last
        instant (0 if none). With `contacts`, 30% go to another contact than `contact`."""
        if n <= 0:
            return 0
        r = self.rng.random
        tl = self.tl
        cum = tl.cum
        midnight = tl.midnight
        if day_b <= day_a:
            day_b = day_a + 1
        lo = cum[day_a]
        span = cum[day_b] - lo
        last_day = day_b - 1
        ats = []
        for _ in range(n):
            d = bisect_right(cum, lo + r() * span) - 1
            if d < day_a:
                d = day_a
            elif d > last_day:
                d = last_day
            ats.append(midnight[d] + WORK_START + int(r() * WORK_SPAN))
        ats.sort()
        # the datetime text, inlined from Timeline.fmt (the hottest line of the generator)
        prefix = tl.utc_prefix
        times = tl.time_str
        base = tl.utc_day0
        nxt = self.ids["followup"]
        kinds = self.fu_kinds
        n_kinds = len(kinds)
        append = self.buf["followup"].append
        n_contacts = len(contacts) if contacts else 0
        for at in ats:
            kind, dur_lo, dur_span, texts = kinds[int(r() * n_kinds)]
            subject, outcome, step = texts[int(r() * len(texts))]
            s = prefix[at // 86400 - base] + times[at % 86400]
            ct = contact
            if n_contacts and r() < 0.3:
                ct = contacts[int(r() * n_contacts)]  # type: ignore[index]
            append((
                nxt(), s, s, None, 1, owner, "{}", kind, s,
                dur_lo + int(r() * dur_span) if dur_span else None,
                subject, outcome, step, lead, customer, ct, deal,
            ))  # fmt: skip
        return ats[-1]

    # -- leads that stay leads -------------------------------------------------------------
    def _open_lead(
        self, day: int, status: str, owner: UserPlan | None, region: str, *, n_fu: int
    ) -> None:
        r = self.rng.random
        tl = self.tl
        fmt = self.fmt
        lid = self.ids["lead"]()
        industry = self.industry_table[int(r() * len(self.industry_table))]
        name, handle = self._person()
        company, _short, domain, _addr = self._company(region, industry)
        created = self._at(day)
        last = created
        owner_id = owner.id if owner is not None else None
        if owner_id is not None and n_fu:
            at = self._followups(n_fu, owner_id, day, min(day + 30, tl.today_i), lead=lid)
            last = max(last, at)
        c = fmt(created)
        self.buf["lead"].append((
            lid, c, fmt(last), None, 1, owner_id, "{}", name, company,
            self.titles[int(r() * len(self.titles))], self._mobile(), f"{handle}@{domain}",
            self.source_table[int(r() * len(self.source_table))], industry, region, status,
            self.lead_notes[int(r() * len(self.lead_notes))], tl.date_str[day],
            None, None, None, None,
        ))  # fmt: skip

    # -- one customer and everything under it -----------------------------------------------
    def _customer(self, cid: int, c: tuple[Any, ...], n_deals: int, n_fu: int) -> None:
        cd, region, owner, size, industry, from_lead, life_end, _w = c
        r = self.rng.random
        tl = self.tl
        fmt = self.fmt
        T = tl.today_i
        plan = self.plan
        buf = self.buf
        oid = owner.id

        created = self._at(cd)
        name, short, domain, address = self._company(region, industry)

        # deal creation days, oldest first
        ddays = []
        if n_deals and cd < BASE_DAYS:
            # customers from before the go-live: buying all along
            ddays = sorted(tl.pick_day(cd + 1, max(cd + 2, life_end), r()) for _ in range(n_deals))
        elif n_deals:
            first_day = cd if from_lead else min(cd + 1 + int(r() * 60), max(cd, life_end - 1))
            ddays.append(first_day)
            for _ in range(n_deals - 1):
                ddays.append(tl.pick_day(first_day, max(first_day + 1, life_end), r()))
            ddays.sort()

        # was it claimed from the pool by its current owner?
        prev_owner: UserPlan | None = None
        owned_from = created
        release_day = 0
        peers = self.region_reps[region]
        if not from_lead and ddays and ddays[0] - cd >= 150 and len(peers) > 1 and r() < 0.35:
            prev_owner = peers[int(r() * len(peers))]
            if prev_owner.id == oid:
                prev_owner = None
            else:
                release_day = cd + 95 + int(r() * 15)
                claim_day = release_day + 3 + int(r() * max(1, min(57, ddays[0] - release_day - 4)))
                owned_from = self._at(claim_day)

        # contacts
        n_contacts = 1 + (r() < 0.6) + (r() < 0.3) + (r() < 0.1)
        contacts = []
        first_contact: tuple[str, str, str, str] = ("", "", "", "")
        next_contact = self.ids["contact"]
        for k in range(n_contacts):
            ctid = next_contact()
            pname, handle = self._person()
            cts = fmt(created if k == 0 else self._at(tl.pick_day(cd, T, r())))
            mobile = self._mobile()
            title = self.titles[int(r() * len(self.titles))]
            email = f"{handle}@{domain}"
            wechat = f"wxid_{int(r() * 1e10):010d}" if (self.zh and r() < 0.6) else ""
            phone = self._landline() if r() < 0.3 else ""
            buf["contact"].append((
                ctid, cts, cts, None, 1, oid, "{}", cid, pname, title, phone, mobile, email,
                wechat, k == 0, "",
            ))  # fmt: skip
            contacts.append(ctid)
            if k == 0:
                first_contact = (pname, title, mobile, email)

        # the lead it came from
        lead_id = None
        lead_day = cd
        source = self.source_table[int(r() * len(self.source_table))]
        if from_lead:
            lead_id = self.ids["lead"]()
            lead_day = max(0, cd - int(r() * 30))

        # deals
        won_closes: list[int] = []
        deal_spans: list[tuple[int, int, int, int]] = []  # (id, first day, last day, contact)
        first_deal = None
        last_won_amount = 0.0
        last_activity = cd
        any_open = False
        for j, dday in enumerate(ddays):
            renewal = bool(won_closes) and won_closes[-1] < dday and r() < 0.55
            did, status, end_day, base_amount, contact = self._deal(
                cid=cid,
                dday=dday,
                created=created if (j == 0 and from_lead) else None,
                owner=owner,
                renewal=renewal,
                short=short,
                size=size,
                industry=industry,
                region=region,
                contacts=contacts,
                source=(source if j == 0 and from_lead else ""),
                lead_id=lead_id if j == 0 else None,
                last_won_amount=last_won_amount,
            )
            if first_deal is None:
                first_deal = did
            deal_spans.append((did, dday, end_day, contact))
            if status == "won":
                won_closes.append(end_day)
                won_closes.sort()
                last_won_amount = base_amount
            elif status == "open":
                any_open = True
            last_activity = max(last_activity, end_day)

        # does it sit in the public pool now?
        in_pool = False
        pool_day = 0
        if (
            prev_owner is None
            and not won_closes
            and not any_open
            and cd <= T - 200
            and last_activity <= T - 200
            and r() < 0.4
        ):
            pool_day = last_activity + plan.pool_days + int(r() * 60)
            in_pool = pool_day <= T - 1

        # follow-ups: on the lead, on the deals, and keeping in touch with the account
        last_fu = 0
        n_lead = min(n_fu, 1 + (r() < 0.5)) if from_lead else 0
        n_keep = 0
        if n_fu - n_lead > 0:
            share = 0.1 if in_pool else 0.15
            n_keep = round((n_fu - n_lead) * share)
            if not in_pool:
                n_keep = max(1, n_keep)
        n_on_deals = n_fu - n_lead - n_keep
        if not deal_spans:
            n_keep += n_on_deals
            n_on_deals = 0
        if n_lead:
            self._followups(n_lead, oid, lead_day, cd, lead=lead_id)
        if n_on_deals:
            # more follow-ups on the deals that ran longer, in deal order
            cum = []
            acc = 0.0
            for _did, a, b, _ct in deal_spans:
                acc += b - a + 5
                cum.append(acc)
            per_deal = [0] * len(deal_spans)
            last_j = len(deal_spans) - 1
            for _ in range(n_on_deals):
                j = bisect_right(cum, r() * acc)
                per_deal[j if j < last_j else last_j] += 1
            for (did, a, b, ct), k in zip(deal_spans, per_deal, strict=True):
                if k:
                    at = self._followups(
                        k, oid, a, min(b + 1, T), customer=cid, contact=ct, contacts=contacts,
                        deal=did,
                    )  # fmt: skip
                    if at > last_fu:
                        last_fu = at
        if n_keep:
            if in_pool:
                at = self._followups(
                    n_keep, oid, cd, pool_day - plan.pool_days, customer=cid, contact=contacts[0]
                )
                last_fu = max(last_fu, at)
            else:
                keep_from = tl.local_day(owned_from)
                if prev_owner is not None:
                    at = self._followups(1, prev_owner.id, cd, cd + 5, customer=cid,
                                         contact=contacts[0])  # fmt: skip
                    last_fu = max(last_fu, at)
                    n_keep -= 1
                # a recent touch keeps the account out of the pool (a few are about to go)
                recent = 1 + int(r() * 80) if r() < 0.94 else 81 + int(r() * 25)
                recent_day = max(keep_from, T - recent)
                at = self._followups(
                    n_keep - 1, oid, keep_from, T, customer=cid, contact=contacts[0],
                    contacts=contacts,
                )  # fmt: skip
                last_fu = max(last_fu, at)
                if n_keep > 0:
                    at = self._followups(1, oid, recent_day, recent_day + 1, customer=cid,
                                         contact=contacts[-1])  # fmt: skip
                    last_fu = max(last_fu, at)

        # the lead row (now that the first deal's id is known)
        if from_lead:
            pname, title, mobile, email = first_contact
            lts = fmt(created - 3600 if lead_day == cd else self._at(lead_day))
            conv = fmt(created)
            buf["lead"].append((
                lead_id, lts, conv, None, 2, oid, "{}", pname, name, title, mobile, email,
                source, industry, region, "converted",
                self.lead_notes[int(r() * len(self.lead_notes))], tl.date_str[lead_day], conv,
                cid, contacts[0], first_deal,
            ))  # fmt: skip

        # pool history
        reasons = self.reasons
        next_event = self.ids["pool_event"]
        if prev_owner is not None:
            rel = fmt(tl.midnight[release_day] + 2 * 3600)
            buf["pool_event"].append(
                (next_event(), cid, prev_owner.id, "reclaimed", rel, reasons["reclaimed"])
            )
            buf["pool_event"].append(
                (next_event(), cid, oid, "claimed", fmt(owned_from), reasons["claimed"])
            )
        pool_at = None
        if in_pool:
            kind = "reclaimed" if r() < 0.7 else "released"
            at = tl.midnight[pool_day] + 2 * 3600 if kind == "reclaimed" else self._at(pool_day)
            pool_at = fmt(at)
            buf["pool_event"].append((next_event(), cid, oid, kind, pool_at, reasons[kind]))
        else:
            self.held[oid] += 1

        # a keep-in-touch task on some accounts
        if not in_pool and r() < 0.12:
            self._task(oid, T + int(r() * 30), 10 * 3600, created_day=max(cd, T - 20),
                       customer=cid, contact=contacts[0], deal=None, title_k=8)  # fmt: skip

        # tags
        if r() < 0.1 or (size == "large" and r() < 0.5):
            tag = plan.tags[0] if size == "large" else plan.tags[int(r() * len(plan.tags))]
            buf["customer_tag"].append((self.ids["customer_tag"](), cid, tag))

        # the customer row
        last_won = won_closes[-1] if won_closes else None
        if last_won is None:
            lifecycle = "prospect"
        elif last_won < T - 365:
            lifecycle = "churned"
        else:
            lifecycle = "repeat" if len(won_closes) > 1 else "customer"
        custom = []
        if r() < 0.7:
            code = "".join("0123456789ABCDEFGHJKLMNPQRTUWXY"[int(r() * 31)] for _ in range(8))
            custom.append(f'"credit_code": "91{int(r() * 1e6):06d}MA{code}"')
        if r() < 0.6:
            custom.append(f'"employee_band": "{SIZE_BANDS[size]}"')
        if won_closes and r() < 0.6:
            custom.append(f'"health_score": {40 + int(r() * 61)}')
        buf["customer"].append((
            cid, fmt(created), fmt(max(created, last_fu)), None, 1, None if in_pool else oid,
            "{" + ", ".join(custom) + "}", name, industry, size, region, lifecycle,
            self._landline(), f"info@{domain}", f"https://www.{domain}", address, lead_id,
            fmt(last_fu) if last_fu else None,
            tl.date_str[last_won] if last_won is not None else None,
            None if in_pool else fmt(owned_from), pool_at,
        ))  # fmt: skip

    # -- one deal --------------------------------------------------------------------------
    def _deal(
        self,
        *,
        cid: int,
        dday: int,
        created: int | None,
        owner: UserPlan,
        renewal: bool,
        short: str,
        size: str,
        industry: str,
        region: str,
        contacts: list[int],
        source: str,
        lead_id: int | None,
        last_won_amount: float,
    ) -> tuple[int, str, int, float, int]:
        """Write a deal and what hangs off it; return (id, status, last day, amount in the
        base currency, contact)."""
        rng = self.rng
        r = rng.random
        tl = self.tl
        fmt = self.fmt
        T = tl.today_i
        plan = self.plan
        buf = self.buf
        oid = owner.id
        did = self.ids["deal"]()
        stages = plan.stages["renewal" if renewal else "new"]
        open_stages = stages[:-2]
        if created is None:
            created = self._at(dday)

        # outcome and cycle length
        if renewal:
            p_win = 0.72 * (0.8 + 0.2 * owner.win_factor)
            cycle = 22 * math.exp(0.45 * rng.gauss(0, 1))
        else:
            p_win = 0.3 * owner.win_factor * (1.15 if size in ("micro", "small") else 0.9)
            cycle = 60 * SIZE_CYCLE[size] * math.exp(0.55 * rng.gauss(0, 1))
            if r() < 0.08:  # the ones that drag on
                cycle *= 3
        won = r() < min(0.95, p_win)
        if not won:
            cycle *= 0.4 + 0.6 * r()
        length = max(1, min(300, int(cycle)))
        n_open = len(open_stages)
        if won:
            path = list(range(n_open))
            if not renewal and r() < 0.15:
                path.remove(1)
        else:
            # the stage it was lost in
            u = r()
            if renewal:
                k = 0 if u < 0.3 else 1 if u < 0.7 else 2
            else:
                k = 0 if u < 0.35 else 1 if u < 0.65 else 2 if u < 0.87 else 3
            path = list(range(k + 1))
        close_day = tl.next_workday(dday + length, tl.n_days)
        if won:
            qe = self.quarter_end[close_day]
            if 0 < qe - close_day <= 20 and r() < 0.4:  # the end-of-quarter push
                close_day = max(close_day, tl.prev_workday(qe - int(r() * 4), close_day))
        closed = close_day <= T - 1
        span = close_day - dday
        wts = [0.5 + r() for _ in path]
        total_w = sum(wts)
        entry_days = []
        acc = 0.0
        for w in wts:
            entry_days.append(dday + int(span * acc / total_w))
            acc += w

        # amount and currency
        rates = plan.rates
        if renewal and last_won_amount:
            base = last_won_amount * (0.9 + 0.3 * r())
        else:
            base = (
                60000 * SIZE_AMOUNT[size] * words.INDUSTRY_SIZE_FACTOR[industry]
                * owner.size_factor * math.exp(0.6 * rng.gauss(0, 1))
            )  # fmt: skip
        currency = "CNY"
        if region == "overseas":
            currency = "USD" if r() < 0.7 else "EUR"
        rate = rates[currency][tl.month_of[dday]]
        amount = max(100, int(base / rate / 100) * 100) if base > 2000 else 2000
        if base > 1_000_000:
            amount = amount // 1000 * 1000

        # product lines on some deals
        lines = []
        if r() < (0.2 if renewal else 0.45):
            products = plan.products
            n_lines = 1 + (r() < 0.45) + (r() < 0.15)
            chosen: list[tuple[int, words.ProductSpec]] = []
            for _ in range(n_lines):
                if renewal:
                    pid, spec = products[(0, 1, 9)[int(r() * 3)]]
                else:
                    pid, spec = products[int(r() * len(products))]
                if all(p != pid for p, _s in chosen):
                    chosen.append((pid, spec))
            total = 0
            next_line = self.ids["deal_line"]
            for pid, spec in chosen:
                if currency == "CNY":
                    unit = spec.price
                else:
                    unit = max(100, round(spec.price / rate / 100) * 100)
                lo, hi = spec.qty
                qty = max(lo, min(hi, round(amount / len(chosen) / unit)))
                disc = (0, 0, 0, 5, 10, 15, 20)[int(r() * 7)]
                lines.append((pid, qty, unit, disc))
                total += qty * unit * (100 - disc) // 100
                buf["deal_line"].append((next_line(), did, pid, qty, unit, disc))
            amount = total
        base_amount = amount * rate

        # stage history: one row per stage visited, the last one still open
        visited: list[tuple[StagePlan, int]]
        if closed:
            visited = [(open_stages[k], entry_days[n]) for n, k in enumerate(path)]
            visited.append((stages[-2] if won else stages[-1], close_day))
        else:
            visited = [
                (open_stages[k], entry_days[n])
                for n, k in enumerate(path)
                if entry_days[n] <= T - 1
            ]
        midnight = tl.midnight
        entered = [created]
        prev = created
        for _st, day in visited[1:]:
            at = midnight[day] + WORK_START + int(r() * WORK_SPAN)
            if at <= prev:  # same day: a little later (never past the day's end)
                at = prev + 60 + int(r() * 1200)
            entered.append(at)
            prev = at
        texts = [fmt(at) for at in entered]
        append_sh = buf["stage_history"].append
        next_sh = self.ids["stage_history"]
        last = len(visited) - 1
        # `advanced`: a later stay was a later open stage or won (stages only move forward
        # here, so every stay but the last advanced, unless the next one is the lost end)
        ends_lost = visited[last][0].kind == "lost"
        for n, (st, _day) in enumerate(visited):
            if n < last:
                advanced = n < last - 1 or not ends_lost
                append_sh((next_sh(), did, st.id, texts[n], texts[n + 1], oid, advanced))
            else:
                append_sh((next_sh(), did, st.id, texts[n], None, oid, False))
        current = visited[-1][0]
        stage_at = texts[-1]

        probability = None
        category = current.forecast_category
        if closed:
            status = "won" if won else "lost"
            closed_on = tl.date_str[close_day]
            expected = tl.date_str[dday + int(length * (0.75 + 0.5 * r()))]
            end_day = close_day
        else:
            status = "open"
            closed_on = None
            exp_day = close_day
            if r() < 0.12:  # slipped: expected already, still open
                exp_day = max(dday, T - 1 - int(r() * 25))
            expected = tl.date_str[exp_day]
            if r() < 0.15:
                probability = max(0, min(100, current.probability + int(r() * 21) - 10))
            if r() < 0.1:
                category = {"pipeline": "best_case", "best_case": "commit"}.get(category, category)
            end_day = T
        lost_reason = lost_note = ""
        if status == "lost":
            lost_reason = self.lost_table[int(r() * len(self.lost_table))]
            lost_note = self.lost_notes[int(r() * len(self.lost_notes))]
        # the subscription: plan, term, seats and ARR (seats × the plan's price of a seat)
        tier = SIZE_PLANS[size][int(r() * 3)]
        u = r()
        term = TERMS[-1][0]
        for months, share in TERMS:
            if u < share:
                term = months
                break
            u -= share
        price = PLAN_PRICES[tier][currency]
        seats = max(1, round(amount * 12 / term / price))
        custom_values = {"contract_term_months": term, "plan_tier": tier, "seats": seats,
                         "arr": f"{seats * price}.00"}  # fmt: skip
        custom_values.update(plan.deal_formulas.get((tier, currency), {}))
        custom = json.dumps(custom_values, separators=(", ", ": "))
        if renewal:
            purpose = words.RENEWAL_PURPOSE[plan.locale].format(year=tl.date_str[dday][:4])
        else:
            purpose = self.purposes[int(r() * len(self.purposes))]
        dname = f"{short}-{purpose}" if self.zh else f"{short} – {purpose}"
        contact = contacts[0] if r() < 0.6 else contacts[int(r() * len(contacts))]
        buf["deal"].append((
            did, texts[0], stage_at, None, len(visited), oid, custom, dname, cid, contact,
            current.pipeline_id, current.id, amount, currency, expected, closed_on, status,
            probability, category, lost_reason, lost_note, source, tl.date_str[dday], stage_at,
            lead_id,
        ))  # fmt: skip
        if r() < 0.03:
            other = plan.manager_of.get(oid)
            if other is not None and other != oid:
                buf["deal_collaborator"].append((self.ids["deal_collaborator"](), did, other))

        # a quote once it reached the proposal stage
        quote_order = self.quote_order["renewal" if renewal else "new"]
        reached = [n for n, (st, _d) in enumerate(visited)
                   if st.order >= quote_order and st.kind == "open"]  # fmt: skip
        if reached and r() < 0.65:
            n = reached[0]
            q_day = visited[n][1]
            qid = self.ids["quote"]()
            q_status = {"won": "accepted", "lost": "rejected"}.get(
                status, "sent" if r() < 0.8 else "draft"
            )
            prefix = "BJ" if self.zh else "QT"
            buf["quote"].append((
                qid, texts[n], texts[n], None, 1, oid, "{}",
                f"{prefix}{tl.date_str[q_day][:4]}{qid:08d}", did, cid, currency, q_status,
                (0, 0, 0, 0, 5, 5, 10)[int(r() * 7)], tl.date_str[q_day + 30], "",
            ))  # fmt: skip
            ql = buf["quote_line"]
            next_ql = self.ids["quote_line"]
            if lines:
                for order, (pid, qty, unit, disc) in enumerate(lines, start=1):
                    ql.append((next_ql(), qid, pid, "", qty, unit, disc, order))
            else:
                ql.append((next_ql(), qid, None, dname, 1, amount, 0, 1))

        if closed and won:
            self._contract(did=did, cid=cid, owner=oid, name=dname, amount=amount,
                           currency=currency, close_day=close_day, renewal=renewal)  # fmt: skip
            month = tl.month_of[close_day]
            self.bookings[(oid, month)] += amount * rates[currency][month]

        # tasks
        u = r()
        for _ in range(2 if u < 0.1 else 1 if u < 0.45 else 0):
            t_day = dday + int(r() * max(1, end_day - dday))
            self._task(
                oid, t_day + 1 + int(r() * 9), (10 * 3600, 14 * 3600, 63000)[int(r() * 3)],
                created_day=t_day, customer=cid, contact=contact, deal=did,
                title_k=int(r() * len(self.task_titles)),
            )  # fmt: skip
        return did, status, end_day, base_amount, contact

    # -- tasks -------------------------------------------------------------------------------
    def _task(
        self,
        owner: int,
        due_day: int,
        due_second: int,
        *,
        created_day: int,
        customer: int | None,
        contact: int | None,
        deal: int | None,
        title_k: int,
    ) -> None:
        r = self.rng.random
        tl = self.tl
        fmt = self.fmt
        now = tl.now
        created = tl.midnight[min(created_day, tl.today_i - 1)] + WORK_START + int(r() * 3600)
        due = tl.midnight[due_day] + due_second
        if due <= created:
            due = created + 3600
        remind = due - 1800 if r() < 0.5 else None
        # reminders in the past count as sent, so the worker does not send them again
        reminded = fmt(remind) if (remind is not None and remind < now) else None
        done = None
        if due < now:
            if r() < 0.85:
                done_at = max(created + 600, due - int(r() * 2 * DAY))
                done = fmt(min(done_at, now - 60))
        elif r() < 0.1:
            done = fmt(max(created + 600, now - int(r() * DAY)))
        u = r()
        priority = "high" if u < 0.2 else "low" if u < 0.3 else "normal"
        created_by = owner if r() < 0.8 else self.plan.manager_of.get(owner, owner)
        cs = fmt(created)
        self.buf["task"].append((
            self.ids["task"](), cs, done or cs, None, 1, owner, "{}", self.task_titles[title_k],
            "", fmt(due), fmt(remind) if remind is not None else None, reminded, done, priority,
            created_by, None, customer, contact, deal,
        ))  # fmt: skip

    # -- contracts and money -------------------------------------------------------------------
    def _contract(
        self,
        *,
        did: int,
        cid: int,
        owner: int,
        name: str,
        amount: int,
        currency: str,
        close_day: int,
        renewal: bool,
    ) -> None:
        r = self.rng.random
        tl = self.tl
        fmt = self.fmt
        T = tl.today_i
        buf = self.buf
        rates = self.plan.rates
        kid = self.ids["contract"]()
        signed = close_day if r() < 0.6 else min(T - 1, close_day + 1 + int(r() * 6))
        years = 2 if (not renewal and r() < 0.2) else 1
        ends = signed + 365 * years - 1
        status = "terminated" if r() < 0.02 else ("completed" if ends < T else "active")
        signed_at = fmt(self._at(signed))
        signed_on = tl.date_str[signed]
        prefix = "HT" if self.zh else "CT"
        buf["contract"].append((
            kid, signed_at, signed_at, None, 1, owner,
            '{"auto_renew": true}' if r() < 0.6 else '{"auto_renew": false}',
            f"{prefix}{signed_on[:4]}{kid:08d}", name, cid, did, amount, currency, status,
            signed_on, signed_on, tl.date_str[ends],
        ))  # fmt: skip
        u = r()
        if u < 0.45:
            parts = [(amount, 15)]
        elif u < 0.8:
            half = amount // 2
            parts = [(half, 15), (amount - half, 90)]
        else:
            a1, a2 = amount * 3 // 10, amount * 4 // 10
            parts = [(a1, 15), (a2, 90), (amount - a1 - a2, 180)]
        methods: tuple[str, ...]
        if currency == "CNY":
            methods = ("bank", "bank", "bank", "bank", "alipay", "wechat", "other")
        else:
            methods = ("bank", "bank", "bank", "card")
        pays = buf["payment"]
        next_plan = self.ids["payment_plan"]
        next_pay = self.ids["payment"]
        n = len(parts)
        for k, (part, offset) in enumerate(parts, start=1):
            pid = next_plan()
            due = signed + offset
            buf["payment_plan"].append(
                (pid, signed_at, signed_at, None, 1, owner, "{}", kid, tl.date_str[due], part,
                 f"{k}/{n}")
            )  # fmt: skip
            received: list[tuple[int, int]] = []
            u = r()
            if due <= T - 1:
                if u < 0.62:  # on time
                    received.append((max(signed, due - int(r() * 6)), part))
                elif u < 0.85:  # late
                    received.append((due + 1 + int(r() ** 2 * 75), part))
                elif u < 0.93:  # in part, the rest maybe later
                    first = max(1, int(part * (0.3 + 0.4 * r())))
                    d1 = due + int(r() * 20)
                    received.append((d1, first))
                    if r() < 0.5:
                        received.append((d1 + 15 + int(r() * 45), part - first))
                # else: not paid
            elif u < 0.06:  # paid early
                received.append((signed + int(r() * max(1, T - 1 - signed)), part))
            for day, money in received:
                if day > T - 1 or money <= 0:
                    continue
                at = fmt(self._at(day))
                pay_id = next_pay()
                pays.append((
                    pay_id, at, at, None, 1, owner, "{}", kid, pid, money, currency,
                    tl.date_str[day], methods[int(r() * len(methods))], f"TX{pay_id:010d}",
                ))  # fmt: skip
                m = tl.month_of[day]
                self.collections[(owner, m)] += money * rates[currency][m]

    # -- targets -------------------------------------------------------------------------------
    def _targets(self) -> None:
        """Monthly bookings and collections targets per rep from the first month to the end
        of the current year, and quarterly bookings targets per team (its whole subtree)."""
        r = self.rng.random
        tl = self.tl
        plan = self.plan
        stamp = self.fmt(tl.midnight[0] + 9 * 3600)
        months_done = max(1, tl.month_of[tl.today_i])
        last_month = tl.month_of[tl.date_str.index(f"{tl.today.year}-12-01")]
        season = {1: 0.9, 2: 0.7, 3: 1.1, 6: 1.1, 9: 1.1, 11: 1.05, 12: 1.25}
        if plan.locale != "zh-hans":
            season = {1: 0.8, 3: 1.1, 6: 1.1, 8: 0.85, 9: 1.1, 12: 1.2}
        by_rep_month: dict[tuple[int, int], int] = {}
        rows = self.buf["target"]
        nxt = self.ids["target"]
        for rep in plan.reps:
            total = sum(self.bookings.get((rep.id, m), 0.0) for m in range(months_done))
            monthly = total / months_done
            for m in range(last_month + 1):
                day = tl.month_date(m)
                growth = 0.85 + 0.3 * m / max(1, last_month)
                value = monthly * season.get(int(day[5:7]), 1.0) * growth * (0.95 + 0.3 * r())
                value = max(10_000, round(value / 1000) * 1000)
                by_rep_month[(rep.id, m)] = value
                rows.append((nxt(), stamp, stamp, None, 1, rep.id, None, "bookings", "month",
                             day, value))  # fmt: skip
                rows.append((nxt(), stamp, stamp, None, 1, rep.id, None, "collections", "month",
                             day, round(value * 0.9 / 1000) * 1000))  # fmt: skip
        # teams: a quarter's target is the sum of its reps' months
        children: dict[int | None, list[int]] = defaultdict(list)
        for t in plan.teams:
            children[t.parent_id].append(t.id)
        members: dict[int, list[int]] = defaultdict(list)
        for rep in plan.reps:
            assert rep.team_id is not None
            members[rep.team_id].append(rep.id)

        def subtree_reps(team_id: int) -> list[int]:
            out = list(members[team_id])
            for child in children[team_id]:
                out += subtree_reps(child)
            return out

        first_quarter = (3 - (int(tl.date_str[0][5:7]) - 1) % 3) % 3  # month index of a Q start
        for t in plan.teams:
            reps = subtree_reps(t.id)
            for m in range(first_quarter, last_month + 1, 3):
                value = sum(
                    by_rep_month[(rid, mm)]
                    for rid in reps
                    for mm in range(m, min(m + 3, last_month + 1))
                )
                rows.append((nxt(), stamp, stamp, None, 1, None, t.id, "bookings", "quarter",
                             tl.month_date(m), round(value / 10_000) * 10_000))  # fmt: skip
