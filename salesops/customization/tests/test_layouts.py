"""Layouts arrange what the field policy lets a person see: sections in order, fields in
order, sections limited to roles, the rest under "Other fields". Saving one is for
administrators, checked (the key at fault named) and audited."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from salesops.audit.models import AuditEntry
from salesops.crm.tests.factories import PipelineFactory
from salesops.customization import admin_services as fields_admin
from salesops.customization import layouts
from salesops.customization.models import CustomField, Layout
from salesops.users.models import Role


def section(key, fields, *, roles=(), zh="", en=""):
    return {
        "key": key,
        "title_zh": zh or f"{key}中文",
        "title_en": en or key.title(),
        "fields": list(fields),
        "roles": list(roles),
    }


def keys(sections):
    return [(s.key, [f.key for f in s.fields]) for s in sections]


def save(cast, object_type, sections, **kwargs):
    return fields_admin.save_layout(
        by=cast.admin, object_type=object_type, sections=sections, **kwargs
    )


def test_without_a_layout_there_is_one_section_of_every_visible_field_in_registry_order(cast):
    sections = layouts.sections_for(cast.rep, "customer")
    assert len(sections) == 1 and sections[0].key == layouts.DEFAULT
    assert sections[0].title == "Details"
    assert [f.key for f in sections[0].fields] == [f.key for f in layouts.placeable("customer")]


def test_a_layout_orders_sections_and_fields_and_puts_the_rest_under_other_fields(cast):
    save(
        cast,
        "customer",
        [section("contact", ["phone", "email"]), section("main", ["name", "owner"])],
    )
    CustomField.objects.create(object_type="customer", key="tier", label="Tier", field_type="text")
    sections = layouts.sections_for(cast.rep, "customer")
    assert keys(sections)[:2] == [("contact", ["phone", "email"]), ("main", ["name", "owner"])]
    other = sections[-1]
    assert other.key == layouts.OTHER and other.title == "Other fields"
    assert "tier" in [f.key for f in other.fields]  # created after the layout
    assert "industry" in [f.key for f in other.fields]
    assert "phone" not in [f.key for f in other.fields]


def test_section_titles_follow_the_readers_language(cast):
    save(cast, "lead", [section("who", ["name"], zh="联系人信息", en="Who")])
    assert layouts.sections_for(cast.rep, "lead")[0].title == "Who"
    with translation.override("zh-hans"):
        assert layouts.sections_for(cast.rep, "lead")[0].title == "联系人信息"


def test_a_pipeline_layout_wins_over_the_deals_layout_for_its_deals_only(cast):
    special, plain = PipelineFactory(name="Projects"), PipelineFactory(name="Plain")
    save(cast, "deal", [section("deal_main", ["name", "amount"])])
    save(cast, "deal", [section("project", ["amount", "name"])], pipeline=special)
    assert keys(layouts.sections_for(cast.rep, "deal", pipeline=special))[0] == (
        "project",
        ["amount", "name"],
    )
    assert keys(layouts.sections_for(cast.rep, "deal", pipeline=plain.pk))[0] == (
        "deal_main",
        ["name", "amount"],
    )
    assert keys(layouts.sections_for(cast.rep, "deal"))[0][0] == "deal_main"


def test_a_section_limited_to_a_role_is_shown_only_to_that_role(cast):
    managers = Role.objects.get(name="Manager")
    save(
        cast,
        "customer",
        [section("main", ["name"]), section("money", ["phone", "email"], roles=[managers.pk])],
    )
    manager_keys = [k for k, _f in keys(layouts.sections_for(cast.manager, "customer"))]
    assert manager_keys[:2] == ["main", "money"]
    rep_sections = layouts.sections_for(cast.rep, "customer")
    assert "money" not in [s.key for s in rep_sections]
    # Its fields are not under "Other fields" either: they are not shown to the rep.
    rep_fields = {f.key for s in rep_sections for f in s.fields}
    assert "phone" not in rep_fields and "email" not in rep_fields and "name" in rep_fields


def test_arrange_leaves_out_the_fields_of_a_section_not_shown_to_the_person(cast):
    managers = Role.objects.get(name="Manager")
    save(cast, "customer", [section("money", ["phone"], roles=[managers.pk])])
    specs = [f for f in layouts.placeable("customer") if f.key in ("name", "phone")]
    assert [f.key for f in layouts.flat(layouts.arrange(cast.rep, "customer", specs))] == ["name"]
    assert [f.key for f in layouts.flat(layouts.arrange(cast.manager, "customer", specs))] == [
        "phone",
        "name",
    ]


def test_a_field_hidden_by_the_policy_stays_hidden_when_a_layout_places_it(cast):
    Role.objects.filter(name="Rep").update(hidden_fields={"customer": ["phone"]})
    cast.rep.refresh_from_db()
    save(cast, "customer", [section("contact", ["phone", "email"])])
    rep_fields = {f.key for s in layouts.sections_for(cast.rep, "customer") for f in s.fields}
    assert "phone" not in rep_fields and "email" in rep_fields
    admin_fields = {f.key for s in layouts.sections_for(cast.admin, "customer") for f in s.fields}
    assert "phone" in admin_fields


@pytest.mark.parametrize(
    ("sections", "named"),
    [
        ([section("a", ["name", "nonsense"])], "nonsense"),
        ([section("a", ["name"]), section("b", ["phone", "name"])], "name"),
        ([section("a", ["phone", "phone"])], "phone"),
        ([section("a", ["name"], roles=[999999])], "999999"),
        ([section("a", ["name"]), section("a", ["phone"])], "a"),
        ([{"key": "untitled", "title_zh": "", "title_en": " ", "fields": []}], "untitled"),
        ([section("Bad Key", ["name"])], "Bad Key"),
        ("not a list", "sections"),
    ],
)
def test_a_bad_layout_is_refused_naming_the_key_and_nothing_is_written(cast, sections, named):
    with pytest.raises(ValidationError) as refused:
        save(cast, "customer", sections)
    assert named in " ".join(refused.value.messages)
    assert not Layout.objects.exists()


def test_a_layout_for_an_unknown_object_or_a_pipeline_of_another_object_is_refused(cast):
    with pytest.raises(ValidationError, match="target"):
        save(cast, "target", [])
    with pytest.raises(ValidationError, match="Only deals"):
        save(cast, "customer", [], pipeline=PipelineFactory())
    assert not Layout.objects.exists()


def test_only_an_administrator_may_save_or_drop_a_layout(cast):
    for user in (cast.rep, cast.manager, cast.analyst):
        with pytest.raises(PermissionDenied):
            fields_admin.save_layout(by=user, object_type="lead", sections=[])
    layout = save(cast, "lead", [section("a", ["name"])])
    with pytest.raises(PermissionDenied):
        fields_admin.delete_layout(by=cast.rep, layout=layout)
    assert Layout.objects.count() == 1


def test_saving_a_layout_replaces_it_is_audited_and_is_seen_at_once(cast):
    first = save(cast, "lead", [section("a", ["name"])])
    assert keys(layouts.sections_for(cast.rep, "lead"))[0] == ("a", ["name"])
    second = save(cast, "lead", [section("b", ["company", "name"])])
    assert first.pk == second.pk and Layout.objects.count() == 1
    assert keys(layouts.sections_for(cast.rep, "lead"))[0] == ("b", ["company", "name"])
    entries = list(AuditEntry.objects.filter(object_id=first.pk).order_by("at", "pk"))
    assert [e.action for e in entries] == ["created", "updated"]
    assert entries[1].changes["sections"]["new"][0]["key"] == "b"
    fields_admin.delete_layout(by=cast.admin, layout=second)
    assert layouts.sections_for(cast.rep, "lead")[0].key == layouts.DEFAULT
    assert AuditEntry.objects.filter(object_id=first.pk, action="deleted").exists()


def test_a_retired_custom_field_may_stay_placed_and_shows_again_when_restored(cast):
    tier = fields_admin.create_custom_field(
        by=cast.admin, object_type="lead", key="tier", label="Tier", field_type="text"
    )
    save(cast, "lead", [section("a", ["tier", "name"])])
    fields_admin.retire_custom_field(field=tier, by=cast.admin)
    save(cast, "lead", [section("a", ["tier", "name"]), section("b", ["company"])])
    assert keys(layouts.sections_for(cast.rep, "lead"))[0] == ("a", ["name"])
    fields_admin.restore_custom_field(field=tier, by=cast.admin)
    assert keys(layouts.sections_for(cast.rep, "lead"))[0] == ("a", ["tier", "name"])


def test_the_editing_steps_add_rename_move_place_and_remove(cast):
    start = layouts.starting_sections("lead")
    assert [s["key"] for s in start] == ["details"]
    assert start[0]["fields"] == [f.key for f in layouts.placeable("lead")]
    step = layouts.add_section(start, title_zh="联系", title_en="Contact")
    new = step[1]["key"]
    step = layouts.place_field(step, "phone", new)
    step = layouts.place_field(step, "email", new)
    step = layouts.move_field(step, "email", -1)
    assert step[1]["fields"] == ["email", "phone"] and "phone" not in step[0]["fields"]
    step = layouts.move_section(step, new, -1)
    assert [s["key"] for s in step] == [new, "details"]
    step = layouts.change_section(step, new, title_en="Reach", roles=[3, 3, 1])
    assert step[0]["title_en"] == "Reach" and step[0]["roles"] == [1, 3]
    step = layouts.place_field(step, "email", "")
    assert "email" not in {k for s in step for k in s["fields"]}
    step = layouts.remove_section(step, new)
    assert [s["key"] for s in step] == ["details"]
    assert start[0]["fields"] == [f.key for f in layouts.placeable("lead")]  # untouched
    with pytest.raises(KeyError):
        layouts.remove_section(step, "gone")
