"""The crm object types in the metadata registry: what each field's model definition
cannot say (list columns, sorts, search, picklists, import header aliases).

Loaded once by CrmConfig.ready; every surface reads the result through
`customization.registry`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from salesops.customization import registry as r
from salesops.customization.registry import Declare as D
from salesops.customization.registry import FieldSpec

# -- import header aliases shared by several objects --------------------------------------

OWNER_ALIASES = (
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
PERSON_NAME_ALIASES = ("姓名", "联系人", "联系人姓名", "名字", "name", "full name", "contact name")
NOTES_ALIASES = ("备注", "说明", "notes", "note", "remarks", "comment", "comments")
TITLE_ALIASES = ("职位", "职务", "头衔", "title", "job title", "position")
INDUSTRY_ALIASES = ("行业", "所属行业", "industry")
REGION_ALIASES = ("地区", "区域", "省份", "城市", "所在地区", "region", "area", "territory", "city")
CONTACT_ALIASES = ("联系人", "contact", "contact name")
CURRENCY_ALIASES = ("币种", "货币", "currency")


def owner() -> D:
    return D("owner", aliases=OWNER_ALIASES, list_default=True, card=True)


def created_at(*, list_default: bool | None = None) -> D:
    return D("created_at", editable=False, sortable=True, list_default=list_default)


def import_target(key: str, label: object, type: str, aliases: tuple[str, ...]) -> FieldSpec:
    """An import column that is not a field of the record itself."""
    return FieldSpec(
        key=key, label=label, type=type, path="", editable=True, derived=True, aliases=aliases
    )


def register() -> None:
    from salesops.crm.models import (
        Contact,
        Contract,
        Customer,
        Deal,
        Lead,
        Payment,
        PaymentPlan,
        Product,
        Quote,
    )

    r.register(
        Lead,
        title_field="name",
        detail_url="lead_detail",
        list_url="lead_list",
        exclude=["converted_deal"],
        fields=[
            D(
                "name",
                sortable=True,
                searchable=True,
                list_default=True,
                aliases=(*PERSON_NAME_ALIASES, "线索名称", "lead name"),
            ),
            D(
                "company",
                sortable=True,
                searchable=True,
                list_default=True,
                aliases=COMPANY_ALIASES,
            ),
            D("title", aliases=TITLE_ALIASES),
            D(
                "phone",
                type=r.PHONE,
                searchable=True,
                list_default=True,
                aliases=MOBILE_ALIASES + PHONE_ALIASES,
            ),
            D("email", searchable=True, aliases=EMAIL_ALIASES),
            D(
                "source",
                picklist="lead_source",
                list_default=True,
                aliases=("来源", "线索来源", "source", "lead source"),
            ),
            D("industry", picklist="industry", aliases=INDUSTRY_ALIASES),
            D("region", picklist="region", aliases=REGION_ALIASES),
            D("status", sortable=True, list_default=True, editable=True),
            D("notes", aliases=NOTES_ALIASES),
            owner(),
            D("created_on", sortable=True, list_default=True),
            D("converted_customer", editable=False),
            D("converted_contact", editable=False),
            created_at(),
        ],
        dedupe=("email", "phone", "company"),
    )

    r.register(
        Customer,
        title_field="name",
        detail_url="customer_detail",
        list_url="customer_list",
        exclude=["pool_entered_at_sort"],
        fields=[
            D(
                "name",
                sortable=True,
                searchable=True,
                list_default=True,
                aliases=(*COMPANY_ALIASES, "name", "名称"),
            ),
            D("industry", picklist="industry", list_default=True, aliases=INDUSTRY_ALIASES),
            D(
                "size",
                aliases=("规模", "公司规模", "人员规模", "size", "company size", "employees"),
            ),
            D("region", picklist="region", list_default=True, aliases=REGION_ALIASES),
            D(
                "lifecycle_stage",
                list_default=True,
                aliases=("客户阶段", "生命周期", "生命周期阶段", "lifecycle stage", "lifecycle"),
            ),
            D("phone", type=r.PHONE, searchable=True, aliases=PHONE_ALIASES),
            D("email", searchable=True, aliases=EMAIL_ALIASES),
            D("website", aliases=("网站", "网址", "官网", "website", "web", "url", "homepage")),
            D("address", aliases=("地址", "详细地址", "公司地址", "address")),
            D("tags", editable=True, filterable=False),
            owner(),
            D("source_lead", editable=False),
            D("last_followup_at", editable=False, sortable=True, list_default=True),
            D("last_won_on", editable=False, sortable=True),
            D("owned_since", editable=False),
            D("pool_entered_at", editable=False, sortable=True),
            created_at(),
        ],
        import_extras=[
            import_target(
                "contact.name",
                _("contact name"),
                r.TEXT,
                ("联系人", "联系人姓名", "主要联系人", "contact", "contact name"),
            ),
            import_target(
                "contact.mobile",
                _("contact mobile"),
                r.PHONE,
                (*MOBILE_ALIASES, "联系人手机", "contact mobile"),
            ),
            import_target(
                "contact.email",
                _("contact e-mail"),
                r.EMAIL,
                ("联系人邮箱", "contact email", "contact e-mail"),
            ),
            import_target(
                "contact.title",
                _("contact job title"),
                r.TEXT,
                ("联系人职位", "contact title", "contact job title"),
            ),
        ],
        dedupe=("company", "email", "phone"),
    )

    r.register(
        Contact,
        title_field="name",
        detail_url="contact_detail",
        list_url="contact_list",
        fields=[
            D(
                "customer",
                list_default=True,
                searchable=False,
                aliases=(*COMPANY_ALIASES, "所属客户"),
            ),
            D(
                "name",
                sortable=True,
                searchable=True,
                list_default=True,
                aliases=(*PERSON_NAME_ALIASES, "contact"),
            ),
            D("title", list_default=True, aliases=TITLE_ALIASES),
            D("phone", type=r.PHONE, searchable=True, aliases=PHONE_ALIASES),
            D("mobile", type=r.PHONE, searchable=True, list_default=True, aliases=MOBILE_ALIASES),
            D("email", searchable=True, list_default=True, aliases=EMAIL_ALIASES),
            D("wechat", aliases=("微信", "微信号", "wechat", "weixin")),
            D(
                "is_primary",
                aliases=(
                    "主要联系人",
                    "首要联系人",
                    "是否主联系人",
                    "primary",
                    "primary contact",
                    "is primary",
                ),
            ),
            D("notes", aliases=NOTES_ALIASES),
            owner(),
            created_at(list_default=True),
        ],
        dedupe=("email", "mobile", "phone"),
    )

    r.register(
        Deal,
        title_field="name",
        detail_url="deal_detail",
        list_url="deal_list",
        exclude=["stage_entered_at"],
        fields=[
            D(
                "name",
                sortable=True,
                searchable=True,
                list_default=True,
                card=True,
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
            D(
                "customer",
                list_default=True,
                card=True,
                searchable=True,
                aliases=COMPANY_ALIASES,
            ),
            D("contact", aliases=CONTACT_ALIASES),
            D("pipeline", aliases=("销售流程", "商机流程", "管道", "pipeline")),
            D(
                "stage",
                list_default=True,
                aliases=("阶段", "销售阶段", "商机阶段", "stage", "sales stage", "deal stage"),
            ),
            D(
                "amount",
                type=r.MONEY,
                sortable=True,
                list_default=True,
                card=True,
                currency_path="currency_id",
                rate_date_path="closed_on",
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
            D("currency", aliases=CURRENCY_ALIASES),
            D(
                "expected_close",
                sortable=True,
                list_default=True,
                card=True,
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
            D("status", list_default=True, editable=False),
            D(
                "probability",
                list_default=True,
                aliases=("赢率", "成交概率", "概率", "probability", "win probability"),
                shown_as="effective_probability",
                percent=True,
            ),
            D("forecast_category", list_default=True),
            D("lost_reason", picklist="lost_reason", editable=False),
            D("lost_note", editable=False),
            D("source", aliases=("来源", "商机来源", "source")),
            owner(),
            D("closed_on", sortable=True),
            D("created_on", sortable=True),
            D("collaborators", editable=False, filterable=False),
            D("source_lead", editable=False),
            created_at(),
        ],
        extra=[
            r.derived("customer", "customer", "industry", _("customer industry")),
            r.derived("customer", "customer", "region", _("customer region")),
        ],
        dedupe=("deal",),
    )

    r.register(
        Product,
        title_field="name",
        detail_url="product_detail",
        list_url="product_list",
        fields=[
            D(
                "name",
                sortable=True,
                searchable=True,
                list_default=True,
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
            D(
                "sku",
                sortable=True,
                searchable=True,
                list_default=True,
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
            D(
                "category",
                searchable=True,
                list_default=True,
                aliases=("分类", "类别", "产品分类", "category"),
            ),
            D("unit", aliases=("单位", "unit")),
            D(
                "price",
                type=r.MONEY,
                sortable=True,
                list_default=True,
                currency_path="currency_id",
                rate_date_path=None,
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
            D("currency", aliases=CURRENCY_ALIASES),
            D(
                "active",
                list_default=True,
                aliases=("启用", "是否启用", "上架", "active", "enabled"),
            ),
            D("description", aliases=("描述", "产品描述", "说明", "description")),
            created_at(),
        ],
        dedupe=("sku", "product"),
    )

    r.register(
        Quote,
        title_field="number",
        detail_url="quote_detail",
        list_url="quote_list",
        fields=[
            D("number", sortable=True, searchable=True, list_default=True),
            D("deal", list_default=True),
            D("customer", list_default=True, searchable=True),
            D("status", list_default=True),
            D("discount_pct", list_default=True),
            D("valid_until", sortable=True, list_default=True),
            owner(),
            created_at(list_default=True),
        ],
    )

    r.register(
        Contract,
        title_field="number",
        detail_url="contract_detail",
        list_url="contract_list",
        fields=[
            D("number", sortable=True, searchable=True, list_default=True),
            D("title", searchable=True, list_default=True),
            D("customer", list_default=True, searchable=True),
            D(
                "amount",
                type=r.MONEY,
                sortable=True,
                list_default=True,
                currency_path="currency_id",
                rate_date_path="signed_on",
            ),
            D("status", list_default=True),
            D("signed_on", sortable=True, list_default=True),
            D("ends_on"),
            owner(),
            created_at(),
        ],
        extra=[r.derived("customer", "customer", "industry", _("customer industry"))],
    )

    r.register(
        PaymentPlan,
        key="payment_plan",
        title_field="due_on",
        list_url="paymentplan_list",
        customisable=False,
        fields=[
            D("contract", list_default=True, searchable=True),
            D("due_on", sortable=True, list_default=True),
            D(
                "amount",
                type=r.MONEY,
                sortable=True,
                list_default=True,
                currency_path="contract__currency_id",
                rate_date_path="due_on",
            ),
            D("note", searchable=True, list_default=True),
            owner(),
            created_at(),
        ],
    )

    r.register(
        Payment,
        title_field="reference",
        list_url="payment_list",
        fields=[
            D(
                "contract",
                list_default=True,
                searchable=True,
                aliases=(
                    "合同编号",
                    "合同号",
                    "合同",
                    "contract",
                    "contract number",
                    "contract no",
                ),
            ),
            D("plan", editable=True),
            D(
                "amount",
                type=r.MONEY,
                sortable=True,
                list_default=True,
                currency_path="currency_id",
                rate_date_path="received_on",
                aliases=("回款金额", "金额", "到账金额", "amount"),
            ),
            D("currency", aliases=CURRENCY_ALIASES),
            D(
                "received_on",
                sortable=True,
                list_default=True,
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
            D(
                "method",
                list_default=True,
                aliases=("付款方式", "回款方式", "支付方式", "method", "payment method"),
            ),
            D(
                "reference",
                searchable=True,
                list_default=True,
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
            owner(),
            created_at(),
        ],
        dedupe=("reference",),
    )
