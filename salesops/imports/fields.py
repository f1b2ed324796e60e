"""What can be imported into each kind of record: the targets a column can map to,
how each cell is read, and the header words (Chinese and English) that suggest it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from salesops.activities.models import FollowUp
from salesops.crm.models import Contact, Customer, Deal, Lead, Payment, Product
from salesops.customization.models import CustomField


@dataclass(frozen=True)
class Target:
    """A place a column's values can go."""

    key: str
    label: Any
    #: How the cell is read: text, email, phone, amount, int, date, datetime, bool,
    #: choice, owner, or a reference: customer, contact, deal, lead, contract,
    #: pipeline, stage, currency; "custom" for custom fields.
    kind: str = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    #: The model field whose validators apply (default: `key`); "" for none.
    model_field: str | None = None
    choices: tuple[tuple[str, Any], ...] = ()
    custom: CustomField | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ObjectSpec:
    object_type: str
    model: type[models.Model]
    targets: tuple[Target, ...]
    #: Targets whose normalised values identify a duplicate, in order of strength.
    dedupe: tuple[str, ...] = ()

    def target(self, key: str) -> Target | None:
        for t in self.targets:
            if t.key == key:
                return t
        return None


OWNER = Target(
    "owner",
    _("owner"),
    "owner",
    aliases=(
        "负责人",
        "所有者",
        "归属人",
        "销售",
        "销售代表",
        "跟进人",
        "业务员",
        "owner",
        "sales rep",
        "rep",
        "account owner",
        "assigned to",
        "salesperson",
    ),
    model_field="",
)
EMAIL_ALIASES = (
    "邮箱",
    "电子邮箱",
    "邮件",
    "电子邮件",
    "邮箱地址",
    "e-mail",
    "email",
    "email address",
    "mail",
)
PHONE_ALIASES = (
    "电话",
    "座机",
    "联系电话",
    "办公电话",
    "phone",
    "telephone",
    "tel",
    "office phone",
    "work phone",
    "business phone",
    "phone number",
)
MOBILE_ALIASES = (
    "手机",
    "手机号",
    "手机号码",
    "移动电话",
    "mobile",
    "mobile phone",
    "cell",
    "cell phone",
    "mobile number",
)
COMPANY_ALIASES = (
    "客户名称",
    "客户",
    "公司",
    "公司名称",
    "企业名称",
    "单位名称",
    "客户名",
    "company",
    "company name",
    "account",
    "account name",
    "customer",
    "customer name",
    "organization",
    "organisation",
)
NOTES_ALIASES = ("备注", "说明", "notes", "note", "remarks", "comment", "comments")
TITLE_ALIASES = ("职位", "职务", "头衔", "title", "job title", "position")
INDUSTRY = Target("industry", _("industry"), aliases=("行业", "所属行业", "industry"))
REGION = Target(
    "region",
    _("region"),
    aliases=("地区", "区域", "省份", "城市", "所在地区", "region", "area", "territory", "city"),
)


def _choices(model: type[models.Model], name: str) -> tuple[tuple[str, Any], ...]:
    return tuple(model._meta.get_field(name).choices or ())  # type: ignore[union-attr]


def _specs() -> dict[str, ObjectSpec]:
    lead = ObjectSpec(
        "lead",
        Lead,
        (
            Target(
                "name",
                _("contact name"),
                required=True,
                aliases=(
                    "姓名",
                    "联系人",
                    "联系人姓名",
                    "名字",
                    "线索名称",
                    "name",
                    "full name",
                    "contact name",
                    "lead name",
                ),
            ),
            Target("company", _("company"), aliases=COMPANY_ALIASES),
            Target("title", _("job title"), aliases=TITLE_ALIASES),
            Target("phone", _("phone"), "phone", aliases=MOBILE_ALIASES + PHONE_ALIASES),
            Target("email", _("e-mail"), "email", aliases=EMAIL_ALIASES),
            Target("source", _("source"), aliases=("来源", "线索来源", "source", "lead source")),
            INDUSTRY,
            REGION,
            Target("notes", _("notes"), aliases=NOTES_ALIASES),
            OWNER,
        ),
        dedupe=("email", "phone", "company"),
    )
    customer = ObjectSpec(
        "customer",
        Customer,
        (
            Target("name", _("name"), required=True, aliases=(*COMPANY_ALIASES, "name", "名称")),
            INDUSTRY,
            Target(
                "size",
                _("size"),
                "choice",
                choices=_choices(Customer, "size"),
                aliases=("规模", "公司规模", "人员规模", "size", "company size", "employees"),
            ),
            REGION,
            Target(
                "lifecycle_stage",
                _("lifecycle stage"),
                "choice",
                choices=_choices(Customer, "lifecycle_stage"),
                aliases=("客户阶段", "生命周期", "生命周期阶段", "lifecycle stage", "lifecycle"),
            ),
            Target("phone", _("phone"), "phone", aliases=PHONE_ALIASES),
            Target("email", _("e-mail"), "email", aliases=EMAIL_ALIASES),
            Target(
                "website",
                _("website"),
                aliases=("网站", "网址", "官网", "website", "web", "url", "homepage"),
            ),
            Target("address", _("address"), aliases=("地址", "详细地址", "公司地址", "address")),
            OWNER,
            Target(
                "contact.name",
                _("contact name"),
                model_field="",
                aliases=("联系人", "联系人姓名", "主要联系人", "contact", "contact name"),
            ),
            Target(
                "contact.mobile",
                _("contact mobile"),
                "phone",
                model_field="",
                aliases=(*MOBILE_ALIASES, "联系人手机", "contact mobile"),
            ),
            Target(
                "contact.email",
                _("contact e-mail"),
                "email",
                model_field="",
                aliases=("联系人邮箱", "contact email", "contact e-mail"),
            ),
            Target(
                "contact.title",
                _("contact job title"),
                model_field="",
                aliases=("联系人职位", "contact title", "contact job title"),
            ),
        ),
        dedupe=("company", "email", "phone"),
    )
    contact = ObjectSpec(
        "contact",
        Contact,
        (
            Target(
                "customer",
                _("customer"),
                "customer",
                required=True,
                model_field="",
                aliases=(*COMPANY_ALIASES, "所属客户"),
            ),
            Target(
                "name",
                _("name"),
                required=True,
                aliases=(
                    "姓名",
                    "联系人",
                    "联系人姓名",
                    "名字",
                    "name",
                    "full name",
                    "contact name",
                    "contact",
                ),
            ),
            Target("title", _("job title"), aliases=TITLE_ALIASES),
            Target("phone", _("phone"), "phone", aliases=PHONE_ALIASES),
            Target("mobile", _("mobile"), "phone", aliases=MOBILE_ALIASES),
            Target("email", _("e-mail"), "email", aliases=EMAIL_ALIASES),
            Target("wechat", _("WeChat"), aliases=("微信", "微信号", "wechat", "weixin")),
            Target(
                "is_primary",
                _("primary contact"),
                "bool",
                aliases=(
                    "主要联系人",
                    "首要联系人",
                    "是否主联系人",
                    "primary",
                    "primary contact",
                    "is primary",
                ),
            ),
            Target("notes", _("notes"), aliases=NOTES_ALIASES),
        ),
        dedupe=("email", "mobile", "phone"),
    )
    deal = ObjectSpec(
        "deal",
        Deal,
        (
            Target(
                "name",
                _("name"),
                required=True,
                aliases=(
                    "商机名称",
                    "商机",
                    "机会名称",
                    "项目名称",
                    "deal",
                    "deal name",
                    "opportunity",
                    "opportunity name",
                    "name",
                ),
            ),
            Target(
                "customer",
                _("customer"),
                "customer",
                required=True,
                model_field="",
                aliases=COMPANY_ALIASES,
            ),
            Target(
                "contact",
                _("contact"),
                "contact",
                model_field="",
                aliases=("联系人", "contact", "contact name"),
            ),
            Target(
                "pipeline",
                _("pipeline"),
                "pipeline",
                model_field="",
                aliases=("销售流程", "商机流程", "管道", "pipeline"),
            ),
            Target(
                "stage",
                _("stage"),
                "stage",
                model_field="",
                aliases=("阶段", "销售阶段", "商机阶段", "stage", "sales stage", "deal stage"),
            ),
            Target(
                "amount",
                _("amount"),
                "amount",
                model_field="",
                aliases=(
                    "金额",
                    "商机金额",
                    "预计金额",
                    "销售额",
                    "amount",
                    "value",
                    "deal value",
                    "revenue",
                ),
            ),
            Target(
                "currency",
                _("currency"),
                "currency",
                model_field="",
                aliases=("币种", "货币", "currency"),
            ),
            Target(
                "expected_close",
                _("expected close date"),
                "date",
                aliases=(
                    "预计成交日期",
                    "预计签单日期",
                    "预计结单日期",
                    "expected close",
                    "expected close date",
                    "close date",
                    "closing date",
                ),
            ),
            Target(
                "probability",
                _("probability (%)"),
                "int",
                aliases=("赢率", "成交概率", "概率", "probability", "win probability"),
            ),
            Target("source", _("source"), aliases=("来源", "商机来源", "source")),
            OWNER,
        ),
        dedupe=("deal",),
    )
    followup = ObjectSpec(
        "followup",
        FollowUp,
        (
            Target(
                "kind",
                _("kind"),
                "choice",
                required=True,
                choices=_choices(FollowUp, "kind"),
                aliases=("跟进方式", "方式", "类型", "跟进类型", "kind", "type", "activity type"),
            ),
            Target(
                "occurred_at",
                _("occurred at"),
                "datetime",
                model_field="",
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
            Target("subject", _("subject"), aliases=("主题", "标题", "subject")),
            Target(
                "outcome",
                _("outcome"),
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
            Target(
                "next_step",
                _("next step"),
                aliases=("下一步", "下次计划", "下一步计划", "next step"),
            ),
            Target(
                "duration_minutes",
                _("duration (minutes)"),
                "int",
                aliases=(
                    "时长",
                    "时长(分钟)",
                    "通话时长",
                    "duration",
                    "minutes",
                    "duration (minutes)",
                ),
            ),
            Target("customer", _("customer"), "customer", model_field="", aliases=COMPANY_ALIASES),
            Target(
                "contact",
                _("contact"),
                "contact",
                model_field="",
                aliases=("联系人", "contact", "contact name"),
            ),
            Target(
                "deal",
                _("deal"),
                "deal",
                model_field="",
                aliases=("商机", "商机名称", "deal", "opportunity"),
            ),
            Target("lead", _("lead"), "lead", model_field="", aliases=("线索", "lead")),
        ),
        dedupe=("followup",),
    )
    product = ObjectSpec(
        "product",
        Product,
        (
            Target(
                "name",
                _("name"),
                required=True,
                aliases=(
                    "产品名称",
                    "产品",
                    "商品名称",
                    "名称",
                    "product",
                    "product name",
                    "item",
                    "name",
                ),
            ),
            Target(
                "sku",
                _("SKU"),
                aliases=(
                    "产品编号",
                    "编号",
                    "货号",
                    "编码",
                    "sku",
                    "product code",
                    "code",
                    "item code",
                ),
            ),
            Target("category", _("category"), aliases=("分类", "类别", "产品分类", "category")),
            Target("unit", _("unit"), aliases=("单位", "unit")),
            Target(
                "price",
                _("list price"),
                "amount",
                required=True,
                model_field="",
                aliases=(
                    "价格",
                    "单价",
                    "标准价",
                    "售价",
                    "定价",
                    "price",
                    "list price",
                    "unit price",
                ),
            ),
            Target(
                "currency",
                _("currency"),
                "currency",
                model_field="",
                aliases=("币种", "货币", "currency"),
            ),
            Target(
                "active",
                _("active"),
                "bool",
                aliases=("启用", "是否启用", "上架", "active", "enabled"),
            ),
            Target(
                "description", _("description"), aliases=("描述", "产品描述", "说明", "description")
            ),
        ),
        dedupe=("sku", "product"),
    )
    payment = ObjectSpec(
        "payment",
        Payment,
        (
            Target(
                "contract",
                _("contract"),
                "contract",
                required=True,
                model_field="",
                aliases=(
                    "合同编号",
                    "合同号",
                    "合同",
                    "contract",
                    "contract number",
                    "contract no",
                ),
            ),
            Target(
                "amount",
                _("amount"),
                "amount",
                required=True,
                model_field="",
                aliases=("回款金额", "金额", "到账金额", "amount"),
            ),
            Target(
                "received_on",
                _("received on"),
                "date",
                required=True,
                model_field="",
                aliases=(
                    "回款日期",
                    "到账日期",
                    "收款日期",
                    "日期",
                    "received on",
                    "date",
                    "payment date",
                ),
            ),
            Target(
                "method",
                _("method"),
                "choice",
                choices=_choices(Payment, "method"),
                aliases=("付款方式", "回款方式", "支付方式", "method", "payment method"),
            ),
            Target(
                "reference",
                _("reference"),
                aliases=(
                    "流水号",
                    "交易号",
                    "参考号",
                    "凭证号",
                    "reference",
                    "ref",
                    "transaction id",
                ),
            ),
        ),
        dedupe=("reference",),
    )
    return {s.object_type: s for s in (lead, customer, contact, deal, followup, product, payment)}


SPECS = _specs()


def spec_for(object_type: str, *, with_custom: bool = True) -> ObjectSpec:
    """The spec of `object_type`, with its active custom fields as `custom.<key>`."""
    base = SPECS[object_type]
    if not with_custom:
        return base
    extra = tuple(
        Target(
            f"custom.{f.key}",
            f.label,
            "custom",
            required=f.required,
            aliases=(f.key, f.label),
            model_field="",
            custom=f,
        )
        for f in CustomField.objects.filter(object_type=object_type, active=True)
    )
    return ObjectSpec(base.object_type, base.model, base.targets + extra, base.dedupe)


# -- suggesting a mapping from headers ---------------------------------------------------


def header_key(text: str) -> str:
    """A header as compared with aliases: width, case, spaces, marks of required
    fields and a trailing unit in brackets do not count."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = re.sub(r"[*＊:：]|[(（]\s*(必填|required|选填|optional)\s*[)）]", "", text)
    return re.sub(r"[\s_\-.]+", "", text)


def _words(target: Target) -> list[str]:
    words = [target.key, *target.aliases]
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            words.append(str(target.label))
    return words


def suggest_mapping(headers: list[str], spec: ObjectSpec) -> dict[str, str]:
    """{header: target key} for the headers a target's words match; each target is
    used at most once, and an exact match beats a match of the words without spaces."""
    lookup: dict[str, str] = {}
    for target in spec.targets:
        for word in _words(target):
            lookup.setdefault(header_key(word), target.key)
    result: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        key = lookup.get(header_key(header)) if header else None
        if key and key not in used and header not in result:
            result[header] = key
            used.add(key)
    return result
