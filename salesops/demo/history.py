"""The CRM history: leads, customers, contacts, deals with their stage history, lines,
quotes, contracts, payment plans and payments, follow-ups, tasks, pool events, targets.

Pure Python, no database: `History(plan).chunks()` yields `(table key, [row, ...])`
with the values in the order of `tables.TABLES`. Everything is drawn from one
`random.Random` seeded with the plan's seed, in a fixed order, so the same seed (and
the same `today`) gives the same rows.

The work is streamed customer by customer, oldest first: a customer's contacts, deals
and everything under them are generated together, and the customer row last, when its
last follow-up and last won deal are known. Row counts of customers and deals are
exact; follow-ups are allotted exactly too; the rest follows from them.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from salesops.demo import words
from salesops.demo.config import REGION_TEAM, OrgPlan, UserPlan

Row = tuple[Any, ...]

SIZES = ["micro", "small", "medium", "large"]
SIZE_WEIGHTS = [0.25, 0.42, 0.25, 0.08]
SIZE_AMOUNT = {"micro": 0.35, "small": 0.75, "medium": 1.6, "large": 4.0}
SIZE_CYCLE = {"micro": 0.6, "small": 0.85, "medium": 1.15, "large": 1.6}
SIZE_DEALS = {"micro": 0.6, "small": 0.9, "medium": 1.25, "large": 1.8}
SIZE_EMPLOYEES = {"micro": (2, 9), "small": (10, 99), "medium": (100, 999), "large": (1000, 20000)}

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
        self.zh = plan.locale == "zh-hans"
        self.buf: dict[str, list[Row]] = defaultdict(list)
        self.ids: dict[str, int] = defaultdict(int)
        #: (rep id, month index) -> base-currency amount, for targets
        self.bookings: dict[tuple[int, int], float] = defaultdict(float)
        self.collections: dict[tuple[int, int], float] = defaultdict(float)
        #: customers held per rep (for the pool rule's cap)
        self.held: dict[int, int] = defaultdict(int)
        self._prepare_tables()

    # -- lookup tables -------------------------------------------------------------------
    def _prepare_tables(self) -> None:
        loc = self.plan.locale
        self.fu_kind_table = _weighted_table(
            list(range(len(FOLLOWUP_KINDS))), [w for _k, w, _d in FOLLOWUP_KINDS]
        )
        subjects = words.FOLLOWUP_SUBJECTS[loc]
        self.fu_subjects = [subjects[k] for k, _w, _d in FOLLOWUP_KINDS]
        self.outcomes = words.OUTCOMES[loc]
        self.next_steps = words.NEXT_STEPS[loc]
        self.source_table = _weighted_table(
            [o.value for o in words.LEAD_SOURCES], [o.weight for o in words.LEAD_SOURCES]
        )
        self.industry_table = _weighted_table(
            [o.value for o in words.INDUSTRIES], [o.weight for o in words.INDUSTRIES]
        )
        self.region_table = _weighted_table(
            [o.value for o in words.REGIONS], [o.weight for o in words.REGIONS]
        )
        self.lost_table = _weighted_table(
            [o.value for o in words.LOST_REASONS], [o.weight for o in words.LOST_REASONS]
        )
        self.competitor_table = _weighted_table(
            [o.value for o in words.COMPETITORS], [o.weight for o in words.COMPETITORS]
        )
        self.size_table = _weighted_table(SIZES, SIZE_WEIGHTS)
        self.titles = words.TITLES[loc]
        self.task_titles = words.TASK_TITLES[loc]
        self.lost_notes = words.LOST_NOTES[loc]
        self.lead_notes = words.LEAD_NOTES[loc]
        self.purposes = words.DEAL_PURPOSES[loc]
        tl = self.tl
        # the last day of the quarter of each day
        self.quarter_end = [0] * tl.n_days
        for i in range(tl.n_days - 1, -1, -1):
            y, m = int(tl.date_str[i][:4]), int(tl.date_str[i][5:7])
            if i == tl.n_days - 1:
                self.quarter_end[i] = i
                continue
            y2, m2 = int(tl.date_str[i + 1][:4]), int(tl.date_str[i + 1][5:7])
            same_q = y == y2 and (m - 1) // 3 == (m2 - 1) // 3
            self.quarter_end[i] = self.quarter_end[i + 1] if same_q else i
        # reps to choose from per customer region
        self.region_reps: dict[str, list[UserPlan]] = {}
        for o in words.REGIONS:
            reps = self.plan.reps_by_region.get(REGION_TEAM[o.value]) or self.plan.reps
            self.region_reps[o.value] = reps
        self.rep_by_id = {r.id: r for r in self.plan.reps}

    def _next(self, key: str) -> int:
        self.ids[key] += 1
        return self.ids[key]

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
        cdays = [tl.pick_day(0, 45, r()) for _ in range(n_base)]
        cdays += [tl.pick_day(45, T - 2, r()) for _ in range(n_c - n_base)]
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
            if cd < T - 560 and r() < 0.2:
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
                    "new"
                    if u < 0.15
                    else "contacted"
                    if u < 0.6
                    else "qualified"
                    if u < 0.8
                    else "unqualified"
                )
            else:
                status = (
                    "new"
                    if u < 0.08
                    else "contacted"
                    if u < 0.25
                    else "qualified"
                    if u < 0.35
                    else "unqualified"
                )
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

        next_lead = 0
        for i, c in enumerate(cust):
            while next_lead < len(open_leads) and open_leads[next_lead][0] <= c[0]:
                self._open_lead(*open_leads[next_lead], n_fu=lead_fu[next_lead])
                next_lead += 1
            self._customer(i + 1, c, deal_counts[i], fu_counts[i])
            yield from self._full()
        while next_lead < len(open_leads):
            self._open_lead(*open_leads[next_lead], n_fu=lead_fu[next_lead])
            next_lead += 1
        self._targets()
        for key in list(self.buf):
            if self.buf[key]:
                yield key, self.buf.pop(key)
        plan.pool_cap = max(200, math.ceil(max(self.held.values(), default=0) * 1.25 / 50) * 50)

    def _full(self) -> Iterator[tuple[str, list[Row]]]:
        limit = self.chunk_rows
        for key, rows in self.buf.items():
            if len(rows) >= limit:
                self.buf[key] = []
                yield key, rows

    # -- leads that stay leads -------------------------------------------------------------
    def _open_lead(
        self, day: int, status: str, owner: UserPlan | None, region: str, *, n_fu: int
    ) -> None:
        r = self.rng.random
        tl = self.tl
        fmt = tl.fmt
        lid = self._next("lead")
        industry = self.industry_table[int(r() * len(self.industry_table))]
        name, handle = self._person()
        company, _short, domain, _addr = self._company(region, industry)
        created = tl.ts(day, WORK_START + int(r() * WORK_SPAN))
        last = created
        owner_id = owner.id if owner is not None else None
        if owner_id is not None:
            for _ in range(n_fu):
                last = max(last, self._followup(owner_id, day, min(tl.today_i, day + 30), lead=lid))
        c = fmt(created)
        self.buf["lead"].append(
            (
                lid,
                c,
                fmt(last),
                None,
                1,
                owner_id,
                "{}",
                name,
                company,
                self.titles[int(r() * len(self.titles))],
                self._mobile(),
                f"{handle}@{domain}",
                self.source_table[int(r() * len(self.source_table))],
                industry,
                region,
                status,
                self.lead_notes[int(r() * len(self.lead_notes))],
                tl.date_str[day],
                None,
                None,
                None,
                None,
            )
        )

    # -- one follow-up -------------------------------------------------------------------
    def _followup(
        self,
        owner: int,
        day_a: int,
        day_b: int,
        *,
        lead: int | None = None,
        customer: int | None = None,
        contact: int | None = None,
        deal: int | None = None,
    ) -> int:
        """Write one follow-up on a day in [day_a, day_b) and return its instant."""
        r = self.rng.random
        tl = self.tl
        day = tl.pick_day(day_a, day_b, r())
        at = tl.midnight[day] + WORK_START + int(r() * WORK_SPAN)
        k = self.fu_kind_table[int(r() * len(self.fu_kind_table))]
        kind, _w, dur = FOLLOWUP_KINDS[k]
        subjects = self.fu_subjects[k]
        s = tl.fmt(at)
        self.buf["followup"].append(
            (
                self._next("followup"),
                s,
                s,
                None,
                1,
                owner,
                "{}",
                kind,
                s,
                dur[0] + int(r() * (dur[1] - dur[0])) if dur else None,
                subjects[int(r() * len(subjects))],
                self.outcomes[int(r() * len(self.outcomes))],
                self.next_steps[int(r() * len(self.next_steps))],
                lead,
                customer,
                contact,
                deal,
            )
        )
        return at

    # -- one customer and everything under it -----------------------------------------------
    def _customer(self, cid: int, c: tuple[Any, ...], n_deals: int, n_fu: int) -> None:
        cd, region, owner, size, industry, from_lead, life_end, _w = c
        rng = self.rng
        r = rng.random
        tl = self.tl
        fmt = tl.fmt
        T = tl.today_i
        plan = self.plan
        buf = self.buf

        created = tl.ts(cd, WORK_START + int(r() * WORK_SPAN))
        name, short, domain, address = self._company(region, industry)

        # deal creation days, oldest first
        ddays = []
        if n_deals and cd < 45:
            # the base imported at the start: buying all along, as before the history
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
        release_day = claim_day = 0
        peers = self.region_reps[region]
        if not from_lead and ddays and ddays[0] - cd >= 150 and len(peers) > 1 and r() < 0.35:
            prev_owner = peers[int(r() * len(peers))]
            if prev_owner.id == owner.id:
                prev_owner = None
            else:
                release_day = cd + 95 + int(r() * 15)
                claim_day = release_day + 3 + int(r() * max(1, min(57, ddays[0] - release_day - 4)))
                owned_from = tl.ts(claim_day, WORK_START + int(r() * WORK_SPAN))

        # contacts
        n_contacts = 1 + (r() < 0.6) + (r() < 0.3) + (r() < 0.1)
        contacts = []
        contact_names = []
        for k in range(n_contacts):
            ctid = self._next("contact")
            pname, handle = self._person()
            cday = cd if k == 0 else tl.pick_day(cd, T, r())
            cts = fmt(created if k == 0 else tl.ts(cday, WORK_START + int(r() * WORK_SPAN)))
            mobile = self._mobile()
            title = self.titles[int(r() * len(self.titles))]
            email = f"{handle}@{domain}"
            wechat = f"wxid_{int(r() * 1e10):010d}" if (self.zh and r() < 0.6) else ""
            buf["contact"].append(
                (
                    ctid,
                    cts,
                    cts,
                    None,
                    1,
                    owner.id,
                    "{}",
                    cid,
                    pname,
                    title,
                    self._landline() if r() < 0.3 else "",
                    mobile,
                    email,
                    wechat,
                    k == 0,
                    "",
                )
            )
            contacts.append(ctid)
            contact_names.append((pname, title, mobile, email))

        # the lead it came from
        lead_id = None
        lead_day = cd
        source = self.source_table[int(r() * len(self.source_table))]
        if from_lead:
            lead_id = self._next("lead")
            lead_day = max(0, cd - int(r() * 30))
        deal_ids_first = self.ids["deal"] + 1 if ddays else None

        # deals
        won_closes: list[int] = []
        deal_spans: list[tuple[int, int, int, int, int]] = []  # (id, owner, a, b, contact)
        last_won_amount = 0.0
        last_activity = cd
        any_open = False
        for j, dday in enumerate(ddays):
            owner_id = owner.id
            rep = self.rep_by_id[owner_id]
            renewal = bool(won_closes) and won_closes[-1] < dday and r() < 0.55
            res = self._deal(
                cid=cid,
                dday=dday,
                created=created if (j == 0 and from_lead) else None,
                owner=rep,
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
            did, status, end_day, base_amount, contact = res
            deal_spans.append((did, owner_id, dday, end_day, contact))
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
            pool_day = last_activity + 90 + int(r() * 60)
            in_pool = pool_day <= T - 1

        # follow-ups: on the lead, on the deals, and keeping in touch with the account
        last_fu = 0
        n_lead = min(n_fu, 1 + (r() < 0.5)) if from_lead else 0
        n_keep = 0
        if n_fu - n_lead > 0:
            n_keep = (
                max(1, round((n_fu - n_lead) * 0.15))
                if not in_pool
                else round((n_fu - n_lead) * 0.1)
            )
        n_on_deals = n_fu - n_lead - n_keep
        if not deal_spans:
            n_keep += n_on_deals
            n_on_deals = 0
        for _ in range(n_lead):
            self._followup(owner.id, lead_day, max(lead_day + 1, cd), lead=lead_id)
        if n_on_deals:
            cum = []
            acc = 0.0
            for _did, _o, a, b, _ct in deal_spans:
                acc += b - a + 5
                cum.append(acc)
            for _ in range(n_on_deals):
                j = bisect_right(cum, r() * acc)
                did, o, a, b, ct = deal_spans[min(j, len(deal_spans) - 1)]
                if r() > 0.7:
                    ct = contacts[int(r() * len(contacts))]
                last_fu = max(
                    last_fu,
                    self._followup(
                        o, a, max(a + 1, min(b + 1, T)), customer=cid, contact=ct, deal=did
                    ),
                )
        if n_keep:
            if in_pool:
                stop = max(cd + 1, pool_day - 90)
                for _ in range(n_keep):
                    last_fu = max(
                        last_fu,
                        self._followup(owner.id, cd, stop, customer=cid, contact=contacts[0]),
                    )
            else:
                keep_from = tl.local_day(owned_from)
                if prev_owner is not None:
                    last_fu = max(
                        last_fu,
                        self._followup(
                            prev_owner.id, cd, cd + 5, customer=cid, contact=contacts[0]
                        ),
                    )
                    n_keep -= 1
                # a recent touch keeps the account out of the pool (a few are about to go)
                recent = 1 + int(r() * 80) if r() < 0.94 else 81 + int(r() * 25)
                recent_day = max(keep_from, T - recent)
                for k in range(n_keep):
                    a, b = (recent_day, recent_day + 1) if k == 0 else (keep_from, T)
                    ct = contacts[int(r() * len(contacts))]
                    last_fu = max(last_fu, self._followup(owner.id, a, b, customer=cid, contact=ct))

        # the lead row (now that the first deal's id is known)
        if from_lead:
            pname, title, mobile, email = contact_names[0]
            lts = fmt(tl.ts(lead_day, WORK_START + int(r() * WORK_SPAN)))
            if lead_day == cd:
                lts = fmt(created - 3600)
            conv = fmt(created)
            buf["lead"].append(
                (
                    lead_id,
                    lts,
                    conv,
                    None,
                    2,
                    owner.id,
                    "{}",
                    pname,
                    name,
                    title,
                    mobile,
                    email,
                    source,
                    industry,
                    region,
                    "converted",
                    self.lead_notes[int(r() * len(self.lead_notes))],
                    tl.date_str[lead_day],
                    conv,
                    cid,
                    contacts[0],
                    deal_ids_first,
                )
            )

        # pool history
        reasons = words.POOL_REASONS[plan.locale]
        if prev_owner is not None:
            rel = tl.ts(release_day, 2 * 3600)
            buf["pool_event"].append(
                (
                    self._next("pool_event"),
                    cid,
                    prev_owner.id,
                    "reclaimed",
                    fmt(rel),
                    reasons["reclaimed"],
                )
            )
            buf["pool_event"].append(
                (
                    self._next("pool_event"),
                    cid,
                    owner.id,
                    "claimed",
                    fmt(owned_from),
                    reasons["claimed"],
                )
            )
        pool_at = None
        if in_pool:
            kind = "reclaimed" if r() < 0.7 else "released"
            at = tl.ts(
                pool_day, 2 * 3600 if kind == "reclaimed" else WORK_START + int(r() * WORK_SPAN)
            )
            pool_at = fmt(at)
            buf["pool_event"].append(
                (self._next("pool_event"), cid, owner.id, kind, pool_at, reasons[kind])
            )
        else:
            self.held[owner.id] += 1

        # a keep-in-touch task on some accounts
        if not in_pool and r() < 0.12:
            due_day = T + int(r() * 30)
            self._task(
                owner.id,
                due_day,
                10 * 3600,
                created_day=max(cd, T - 20),
                customer=cid,
                contact=contacts[0],
                deal=None,
                title_k=8,
            )

        # tags
        if r() < 0.1 or (size == "large" and r() < 0.5):
            tag = plan.tags[0] if size == "large" else plan.tags[int(r() * len(plan.tags))]
            buf["customer_tag"].append((self._next("customer_tag"), cid, tag))

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
        if r() < 0.5:
            lo, hi = SIZE_EMPLOYEES[size]
            custom.append(f'"employee_count": {lo + int(r() * (hi - lo))}')
        cts = fmt(created)
        buf["customer"].append(
            (
                cid,
                cts,
                fmt(max(created, last_fu)),
                None,
                1,
                None if in_pool else owner.id,
                "{" + ", ".join(custom) + "}",
                name,
                industry,
                size,
                region,
                lifecycle,
                self._landline(),
                f"info@{domain}",
                f"https://www.{domain}",
                address,
                lead_id,
                fmt(last_fu) if last_fu else None,
                tl.date_str[last_won] if last_won is not None else None,
                None if in_pool else fmt(owned_from),
                pool_at,
            )
        )

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
        """Write a deal and its history; return (id, status, last day, base amount,
        contact)."""
        rng = self.rng
        r = rng.random
        tl = self.tl
        fmt = tl.fmt
        T = tl.today_i
        plan = self.plan
        buf = self.buf
        did = self._next("deal")
        key = "renewal" if renewal else "new"
        stages = plan.stages[key]
        open_stages = stages[:-2]
        won_stage, lost_stage = stages[-2], stages[-1]
        if created is None:
            created = tl.ts(dday, WORK_START + int(r() * WORK_SPAN))

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
        if won:
            path = list(range(len(open_stages)))
            if not renewal and r() < 0.15:
                path.remove(1)
        else:
            weights = [0.3, 0.4, 0.3] if renewal else [0.35, 0.3, 0.22, 0.13]
            u = r() * sum(weights)
            k = 0
            while k < len(weights) - 1 and u >= weights[k]:
                u -= weights[k]
                k += 1
            path = list(range(k + 1))
        close_day = tl.next_workday(dday + length, tl.n_days)
        if won:
            qe = self.quarter_end[close_day]
            if 0 < qe - close_day <= 20 and r() < 0.4:
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
        month = tl.month_of[dday]
        if renewal and last_won_amount:
            base = last_won_amount * (0.9 + 0.3 * r())
        else:
            base = (
                60000
                * SIZE_AMOUNT[size]
                * words.INDUSTRY_SIZE_FACTOR[industry]
                * owner.size_factor
                * math.exp(0.6 * rng.gauss(0, 1))
            )
        currency = "CNY"
        if region == "overseas":
            currency = "USD" if r() < 0.7 else "EUR"
        rate = rates[currency][month]
        amount = max(100, int(base / rate / 100) * 100) if base > 2000 else 2000
        if base > 1_000_000:
            amount = int(amount / 1000) * 1000

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
                if pid not in [p for p, _s in chosen]:
                    chosen.append((pid, spec))
            total = 0
            for pid, spec in chosen:
                unit = (
                    spec.price
                    if currency == "CNY"
                    else max(100, round(spec.price / rate / 100) * 100)
                )
                lo, hi = spec.qty
                qty = max(lo, min(hi, round(amount / len(chosen) / unit)))
                disc = (0, 0, 0, 5, 10, 15, 20)[int(r() * 7)]
                lines.append((pid, qty, unit, disc))
                total += qty * unit * (100 - disc) // 100
            amount = total
            for pid, qty, unit, disc in lines:
                buf["deal_line"].append((self._next("deal_line"), did, pid, qty, unit, disc))
        base_amount = amount * rate

        # stage history
        if closed:
            visited = [(open_stages[k], entry_days[n]) for n, k in enumerate(path)]
            visited.append((won_stage if won else lost_stage, close_day))
        else:
            visited = [
                (open_stages[k], entry_days[n])
                for n, k in enumerate(path)
                if entry_days[n] <= T - 1
            ]
        entered = []
        prev = created
        for n, (_st, day) in enumerate(visited):
            if n == 0:
                at = created
            else:
                at = tl.midnight[day] + WORK_START + int(r() * WORK_SPAN)
                if at <= prev:
                    at = prev + 60 + int(r() * 1200)
            entered.append(at)
            prev = at
        sh = buf["stage_history"]
        last = len(visited) - 1
        for n, (st, _day) in enumerate(visited):
            sh.append(
                (
                    self._next("stage_history"),
                    did,
                    st.id,
                    fmt(entered[n]),
                    fmt(entered[n + 1]) if n < last else None,
                    owner.id,
                )
            )
        current = visited[-1][0]
        stage_at = fmt(entered[-1])

        if closed:
            status = "won" if won else "lost"
            closed_on = tl.date_str[close_day]
            expected = tl.date_str[min(tl.n_days - 1, dday + int(length * (0.75 + 0.5 * r())))]
            probability = None
            category = current.forecast_category
            end_day = close_day
        else:
            status = "open"
            closed_on = None
            exp_day = close_day
            if r() < 0.12:
                exp_day = max(dday, T - 1 - int(r() * 25))
            expected = tl.date_str[exp_day]
            probability = None
            if r() < 0.15:
                probability = max(0, min(100, current.probability + int(r() * 21) - 10))
            category = current.forecast_category
            if r() < 0.1:
                category = {"pipeline": "best_case", "best_case": "commit"}.get(category, category)
            end_day = T
        lost_reason = lost_note = ""
        if status == "lost":
            lost_reason = self.lost_table[int(r() * len(self.lost_table))]
            lost_note = self.lost_notes[int(r() * len(self.lost_notes))]
        custom = "{}"
        if not renewal and r() < 0.3:
            custom = f'{{"competitor": "{self.competitor_table[int(r() * len(self.competitor_table))]}"}}'
        if renewal:
            dname = f"{short}-" + words.RENEWAL_PURPOSE[plan.locale].format(
                year=tl.date_str[dday][:4]
            )
        else:
            dname = f"{short}-{self.purposes[int(r() * len(self.purposes))]}"
        contact = contacts[0] if r() < 0.6 else contacts[int(r() * len(contacts))]
        buf["deal"].append(
            (
                did,
                fmt(created),
                stage_at,
                None,
                len(visited),
                owner.id,
                custom,
                dname,
                cid,
                contact,
                current.pipeline_id,
                current.id,
                amount,
                currency,
                expected,
                closed_on,
                status,
                probability,
                category,
                lost_reason,
                lost_note,
                source,
                tl.date_str[dday],
                stage_at,
                lead_id,
            )
        )
        if r() < 0.03:
            other = self.plan.manager_of.get(owner.id)
            if other is not None and other != owner.id:
                buf["deal_collaborator"].append((self._next("deal_collaborator"), did, other))

        # a quote once it reached the proposal stage
        quote_stage = 1 if renewal else 2
        reached = [
            n
            for n, (st, _d) in enumerate(visited)
            if st.order - 1 >= quote_stage and st.kind == "open"
        ]
        if reached and r() < 0.65:
            n = reached[0]
            q_at = entered[n]
            q_day = visited[n][1]
            qid = self._next("quote")
            q_status = {"won": "accepted", "lost": "rejected"}.get(
                status, "sent" if r() < 0.8 else "draft"
            )
            qs = fmt(q_at)
            prefix = "BJ" if self.zh else "QT"
            buf["quote"].append(
                (
                    qid,
                    qs,
                    qs,
                    None,
                    1,
                    owner.id,
                    "{}",
                    f"{prefix}{tl.date_str[q_day][:4]}{qid:08d}",
                    did,
                    cid,
                    currency,
                    q_status,
                    (0, 0, 0, 0, 5, 5, 10)[int(r() * 7)],
                    tl.date_str[min(tl.n_days - 1, q_day + 30)],
                    "",
                )
            )
            ql = buf["quote_line"]
            if lines:
                for order, (pid, qty, unit, disc) in enumerate(lines, start=1):
                    ql.append((self._next("quote_line"), qid, pid, "", qty, unit, disc, order))
            else:
                ql.append((self._next("quote_line"), qid, None, dname, 1, amount, 0, 1))

        if closed and won:
            self._contract(
                did=did,
                cid=cid,
                owner=owner,
                name=dname,
                amount=amount,
                currency=currency,
                close_day=close_day,
                renewal=renewal,
            )
            self.bookings[(owner.id, tl.month_of[close_day])] += (
                amount * rates[currency][tl.month_of[close_day]]
            )

        # tasks
        u = r()
        n_tasks = 2 if u < 0.1 else 1 if u < 0.45 else 0
        for _ in range(n_tasks):
            t_day = dday + int(r() * max(1, end_day - dday))
            due_day = min(tl.n_days - 1, t_day + 1 + int(r() * 9))
            self._task(
                owner.id,
                due_day,
                (10 * 3600, 14 * 3600, 17 * 3600 + 1800)[int(r() * 3)],
                created_day=t_day,
                customer=cid,
                contact=contact,
                deal=did,
                title_k=int(r() * len(self.task_titles)),
            )
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
        fmt = tl.fmt
        now = tl.now
        created = tl.midnight[min(created_day, tl.today_i - 1)] + WORK_START + int(r() * 3600)
        due = tl.midnight[due_day] + due_second
        if due <= created:
            due = created + 3600
        remind = due - 1800 if r() < 0.5 else None
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
        self.buf["task"].append(
            (
                self._next("task"),
                cs,
                done or cs,
                None,
                1,
                owner,
                "{}",
                self.task_titles[title_k],
                "",
                fmt(due),
                fmt(remind) if remind is not None else None,
                reminded,
                done,
                priority,
                created_by,
                None,
                customer,
                contact,
                deal,
            )
        )

    # -- contracts and money -------------------------------------------------------------------
    def _contract(
        self,
        *,
        did: int,
        cid: int,
        owner: UserPlan,
        name: str,
        amount: int,
        currency: str,
        close_day: int,
        renewal: bool,
    ) -> None:
        r = self.rng.random
        tl = self.tl
        fmt = tl.fmt
        T = tl.today_i
        buf = self.buf
        rates = self.plan.rates
        kid = self._next("contract")
        signed = close_day if r() < 0.6 else min(T - 1, close_day + 1 + int(r() * 6))
        years = 2 if (not renewal and r() < 0.2) else 1
        ends = min(tl.n_days - 1, signed + 365 * years - 1)
        status = "terminated" if r() < 0.02 else ("completed" if ends < T else "active")
        signed_at = fmt(tl.ts(signed, WORK_START + int(r() * WORK_SPAN)))
        prefix = "HT" if self.zh else "CT"
        buf["contract"].append(
            (
                kid,
                signed_at,
                signed_at,
                None,
                1,
                owner.id,
                "{}",
                f"{prefix}{tl.date_str[signed][:4]}{kid:08d}",
                name,
                cid,
                did,
                amount,
                currency,
                status,
                tl.date_str[signed],
                tl.date_str[signed],
                tl.date_str[ends],
            )
        )
        u = r()
        if u < 0.45:
            parts = [(amount, 15)]
        elif u < 0.8:
            half = amount // 2
            parts = [(half, 15), (amount - half, 90)]
        else:
            a1, a2 = amount * 3 // 10, amount * 4 // 10
            parts = [(a1, 15), (a2, 90), (amount - a1 - a2, 180)]
        method_table = (
            ("bank", "bank", "bank", "bank", "alipay", "wechat", "other")
            if currency == "CNY"
            else ("bank", "bank", "bank", "card")
        )
        pays = buf["payment"]
        n = len(parts)
        for k, (part, offset) in enumerate(parts, start=1):
            if part <= 0:
                continue
            pid = self._next("payment_plan")
            due = min(tl.n_days - 1, signed + offset)
            note = f"{k}/{n}"
            buf["payment_plan"].append(
                (
                    pid,
                    signed_at,
                    signed_at,
                    None,
                    1,
                    owner.id,
                    "{}",
                    kid,
                    tl.date_str[due],
                    part,
                    note,
                )
            )
            received: list[tuple[int, int]] = []
            u = r()
            if due <= T - 1:
                if u < 0.62:
                    received.append((max(signed, due - int(r() * 6)), part))
                elif u < 0.85:
                    received.append((due + 1 + int(r() ** 2 * 75), part))
                elif u < 0.93:
                    first = max(1, int(part * (0.3 + 0.4 * r())))
                    d1 = due + int(r() * 20)
                    received.append((d1, first))
                    if r() < 0.5:
                        received.append((d1 + 15 + int(r() * 45), part - first))
            elif u < 0.06:
                received.append((signed + int(r() * max(1, T - 1 - signed)), part))
            for day, money in received:
                if day > T - 1 or money <= 0:
                    continue
                at = fmt(tl.ts(day, WORK_START + int(r() * WORK_SPAN)))
                pay_id = self._next("payment")
                pays.append(
                    (
                        pay_id,
                        at,
                        at,
                        None,
                        1,
                        owner.id,
                        "{}",
                        kid,
                        pid,
                        money,
                        currency,
                        tl.date_str[day],
                        method_table[int(r() * len(method_table))],
                        f"TX{pay_id:010d}",
                    )
                )
                m = tl.month_of[day]
                self.collections[(owner.id, m)] += money * rates[currency][m]

    # -- targets -------------------------------------------------------------------------------
    def _targets(self) -> None:
        """Monthly bookings and collections targets per rep from the first month to the end
        of the current year, and quarterly bookings targets per team (its whole subtree)."""
        r = self.rng.random
        tl = self.tl
        plan = self.plan
        fmt = tl.fmt
        stamp = fmt(tl.ts(0, 9 * 3600))
        months_done = max(1, tl.month_of[tl.today_i])
        year_end = tl.date_str.index(f"{tl.today.year}-12-01")
        last_month = tl.month_of[year_end]
        season = {1: 0.9, 2: 0.7, 3: 1.1, 6: 1.1, 9: 1.1, 11: 1.05, 12: 1.25}
        if plan.locale != "zh-hans":
            season = {1: 0.8, 3: 1.1, 6: 1.1, 8: 0.85, 9: 1.1, 12: 1.2}
        by_rep_month: dict[tuple[int, int], int] = {}
        rows = self.buf["target"]
        for rep in plan.reps:
            total = sum(self.bookings.get((rep.id, m), 0.0) for m in range(months_done))
            monthly = total / months_done
            for m in range(last_month + 1):
                month_no = int(tl.month_date(m)[5:7])
                growth = 0.85 + 0.3 * m / max(1, last_month)
                value = monthly * season.get(month_no, 1.0) * growth * (0.95 + 0.3 * r())
                value = max(10_000, round(value / 1000) * 1000)
                by_rep_month[(rep.id, m)] = value
                day = tl.month_date(m)
                rows.append(
                    (
                        self._next("target"),
                        stamp,
                        stamp,
                        None,
                        1,
                        rep.id,
                        None,
                        "bookings",
                        "month",
                        day,
                        value,
                    )
                )
                rows.append(
                    (
                        self._next("target"),
                        stamp,
                        stamp,
                        None,
                        1,
                        rep.id,
                        None,
                        "collections",
                        "month",
                        day,
                        round(value * 0.9 / 1000) * 1000,
                    )
                )
        # teams: a quarter's target is the sum of its reps' months
        teams = plan.teams
        children: dict[int | None, list[int]] = defaultdict(list)
        for t in teams:
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

        for t in teams:
            reps = subtree_reps(t.id)
            for m in range(0, last_month + 1, 3):
                value = sum(
                    by_rep_month[(rid, mm)]
                    for rid in reps
                    for mm in range(m, min(m + 3, last_month + 1))
                )
                rows.append(
                    (
                        self._next("target"),
                        stamp,
                        stamp,
                        None,
                        1,
                        None,
                        t.id,
                        "bookings",
                        "quarter",
                        tl.month_date(m),
                        round(value / 10_000) * 10_000,
                    )
                )
