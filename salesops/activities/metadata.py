"""Follow-ups and tasks in the metadata registry (see `customization.registry`)."""

from __future__ import annotations

from salesops.crm.metadata import COMPANY_ALIASES, CONTACT_ALIASES, created_at, owner
from salesops.customization import registry as r
from salesops.customization.registry import Declare as D


def register() -> None:
    from salesops.activities.models import FollowUp, Task

    r.register(
        FollowUp,
        title_field="subject",
        detail_url="followup_detail",
        list_url="followup_list",
        fields=[
            D(
                "kind",
                list_default=True,
                aliases=("跟进方式", "方式", "类型", "跟进类型", "kind", "type", "activity type"),
            ),
            D(
                "occurred_at",
                sortable=True,
                list_default=True,
                aliases=(
                    "跟进时间",
                    "时间",
                    "日期",
                    "跟进日期",
                    "date",
                    "time",
                    "occurred at",
                    "activity date",
                ),
            ),
            D(
                "duration_minutes",
                aliases=(
                    "时长",
                    "时长(分钟)",
                    "通话时长",
                    "duration",
                    "minutes",
                    "duration (minutes)",
                ),
            ),
            D("subject", searchable=True, list_default=True, aliases=("主题", "标题", "subject")),
            D(
                "outcome",
                searchable=True,
                aliases=(
                    "跟进内容",
                    "内容",
                    "结果",
                    "跟进结果",
                    "outcome",
                    "content",
                    "details",
                    "result",
                    "notes",
                ),
            ),
            D(
                "next_step",
                list_default=True,
                aliases=("下一步", "下次计划", "下一步计划", "next step"),
            ),
            D("lead", aliases=("线索", "lead")),
            D("customer", list_default=True, aliases=COMPANY_ALIASES),
            D("contact", aliases=CONTACT_ALIASES),
            D("deal", aliases=("商机", "商机名称", "deal", "opportunity")),
            owner(),
            created_at(),
        ],
        dedupe=("followup",),
    )

    r.register(
        Task,
        title_field="title",
        detail_url="task_detail",
        list_url="task_list",
        fields=[
            D("title", sortable=True, searchable=True, list_default=True),
            D("description", searchable=True),
            D("due_at", sortable=True, list_default=True),
            D("priority", list_default=True),
            D("done_at", list_default=True),
            D("customer", list_default=True),
            D("created_by", editable=False),
            owner(),
            created_at(),
        ],
    )
