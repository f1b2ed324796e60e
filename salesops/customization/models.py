"""No-code customisation: picklists and custom fields per object type."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesops.users.models import OBJECT_TYPES


class Picklist(models.Model):
    """A named list of options, e.g. lead sources, industries, regions, lost reasons."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["key"]
        verbose_name = _("picklist")
        verbose_name_plural = _("picklists")

    def __str__(self) -> str:
        return self.name


class PicklistOption(models.Model):
    picklist = models.ForeignKey(
        Picklist, verbose_name=_("picklist"), on_delete=models.CASCADE, related_name="options"
    )
    value = models.CharField(_("value"), max_length=100)
    label = models.CharField(_("label"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["picklist", "order", "value"]
        verbose_name = _("picklist option")
        verbose_name_plural = _("picklist options")
        constraints = [
            models.UniqueConstraint(fields=["picklist", "value"], name="picklist_option_unique")
        ]

    def __str__(self) -> str:
        return self.label


class CustomField(models.Model):
    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        LONG_TEXT = "long_text", _("Long text")
        NUMBER = "number", _("Number")
        MONEY = "money", _("Money")
        DATE = "date", _("Date")
        DATETIME = "datetime", _("Date and time")
        SELECT = "select", _("Single select")
        MULTI_SELECT = "multi_select", _("Multiple select")
        USER = "user", _("User")
        BOOLEAN = "boolean", _("Yes/no")
        URL = "url", _("URL")
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        FORMULA = "formula", _("Formula")
        ROLLUP = "rollup", _("Roll-up")

    class ResultType(models.TextChoices):
        """The type a formula's or roll-up's value has (as a custom field of that type)."""

        NUMBER = "number", _("Number")
        MONEY = "money", _("Money")
        TEXT = "text", _("Text")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes/no")

    class Aggregate(models.TextChoices):
        COUNT = "count", _("Count")
        SUM = "sum", _("Sum")
        MIN = "min", _("Smallest")
        MAX = "max", _("Largest")

    object_type = models.CharField(_("object"), max_length=20, choices=OBJECT_TYPES)
    key = models.SlugField(
        _("key"),
        max_length=50,
        help_text=_("Lower-case letters, digits and underscores; the name in the API and exports."),
    )
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    required = models.BooleanField(_("required"), default=False)
    #: For select and multi-select: [{"value": ..., "label": ...}, ...]
    options = models.JSONField(_("options"), default=list, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    #: The value a new record takes when none is given (stored as the field's values
    #: are: validated by the same rules); None for no default.
    default = models.JSONField(_("default value"), null=True, blank=True)
    #: Formula and roll-up fields: read-only values computed and stored in each
    #: record's custom values (`customization.computed`), of type `result_type`.
    expression = models.TextField(
        _("formula"),
        blank=True,
        default="",
        help_text=_("Computed from the record's fields, e.g. amount * probability / 100."),
    )
    result_type = models.CharField(
        _("result type"), max_length=20, choices=ResultType.choices, blank=True, default=""
    )
    #: Roll-ups: `rollup_aggregate` of `rollup_field` over the records of `rollup_object`
    #: whose reference `rollup_link` names this record and that meet `rollup_condition`.
    rollup_object = models.CharField(
        _("records rolled up"), max_length=20, choices=OBJECT_TYPES, blank=True, default=""
    )
    rollup_link = models.CharField(
        _("their reference to this record"), max_length=50, blank=True, default=""
    )
    rollup_aggregate = models.CharField(
        _("calculation"), max_length=10, choices=Aggregate.choices, blank=True, default=""
    )
    rollup_field = models.CharField(_("field rolled up"), max_length=50, blank=True, default="")
    rollup_condition = models.TextField(
        _("only records where"),
        blank=True,
        default="",
        help_text=_('Optional, e.g. status == "won" and currency in ("CNY", "USD").'),
    )

    class Meta:
        ordering = ["object_type", "order", "key"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            models.UniqueConstraint(fields=["object_type", "key"], name="custom_field_key_unique"),
            models.CheckConstraint(
                condition=Q(key__regex=r"^[a-z][a-z0-9_]*$"), name="custom_field_key_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.object_type}.{self.key}"

    @property
    def computed(self) -> bool:
        """A formula or roll-up: read-only, its values computed."""
        return self.field_type in (self.Type.FORMULA, self.Type.ROLLUP)

    @property
    def value_type(self) -> str:
        """The custom-field type its values have: the result type of a computed field."""
        return (self.result_type or self.Type.NUMBER) if self.computed else self.field_type

    def option_values(self) -> list[str]:
        """Values of the options a person may choose now (deactivated ones left out)."""
        return [str(o["value"]) for o in self.all_options() if o.get("active", True) is not False]

    def all_options(self) -> list[dict]:
        """Every option ever offered, deactivated ones included: stored values keep
        their label, and a value is never given to another option."""
        return [o for o in self.options or [] if isinstance(o, dict) and "value" in o]


class Layout(models.Model):
    """How the record page and the forms of an object type (of a pipeline's deals, when
    `pipeline` is set) group and order its fields, and which roles see each section.

    A presentation, not a permission: the field policy still decides what anyone sees
    or sets; a section limited to some roles is simply not shown to the others. Fields
    placed in no section are shown under "Other fields"."""

    object_type = models.CharField(_("object"), max_length=20, choices=OBJECT_TYPES)
    #: Only for deals: this pipeline's deals use this layout instead of the object's.
    pipeline = models.ForeignKey(
        "pipeline.Pipeline",
        verbose_name=_("pipeline"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="layouts",
    )
    #: [{"key", "title_zh", "title_en", "fields": [field keys], "roles": [role ids]}]
    #: in order; no roles: everyone.
    sections = models.JSONField(_("sections"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["object_type", "pipeline_id"]
        verbose_name = _("layout")
        verbose_name_plural = _("layouts")
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "pipeline"], name="layout_unique_per_pipeline"
            ),
            models.UniqueConstraint(
                fields=["object_type"],
                condition=Q(pipeline__isnull=True),
                name="layout_unique_per_object",
            ),
        ]

    def __str__(self) -> str:
        if self.pipeline_id:
            return f"{self.object_type} · {self.pipeline}"
        return self.object_type


class ValidationRule(models.Model):
    """A condition over a record's fields that refuses the save when it is TRUE (as in
    Salesforce): `discount > 0.2 and not approved` with the message to show, in both
    languages. Checked on every write of a record of `object_type` (`rules.check`)."""

    #: A registry object type (`rules.rule_object_types`).
    object_type = models.CharField(_("object"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    condition = models.TextField(
        _("condition"),
        max_length=1000,
        help_text=_("The record is refused when this expression is true."),
    )
    message_zh = models.CharField(_("message (Chinese)"), max_length=300, blank=True)
    message_en = models.CharField(_("message (English)"), max_length=300, blank=True)
    #: The field key the message is shown next to; empty: the whole record.
    field = models.CharField(_("field"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["object_type", "order", "pk"]
        verbose_name = _("validation rule")
        verbose_name_plural = _("validation rules")
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "name"], name="validation_rule_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def message(self, language: str | None = None) -> str:
        """The message in `language` (default: the active one), else in the other."""
        from django.utils import translation

        language = (language or translation.get_language() or "en").lower()
        first, other = (
            (self.message_zh, self.message_en)
            if language.startswith("zh")
            else (self.message_en, self.message_zh)
        )
        return first or other or self.name

    def clean(self) -> None:
        """The condition must compile against the object's fields (the Django admin's
        form checks this too); the position of the error is in its message."""
        from django.core.exceptions import ValidationError

        from salesops.customization import registry
        from salesops.customization.expressions import ExpressionError, compile_expression

        if registry.find(self.object_type) is None:
            raise ValidationError({"object_type": _("Choose the kind of record the rule is on.")})
        try:
            compile_expression(self.condition, object_type=self.object_type)
        except ExpressionError as e:
            raise ValidationError({"condition": e.messages}) from None
