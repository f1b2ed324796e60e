"""The pages of every custom object (自定义对象), with no code per object: its list
(`/o/<key>/`), record page, create and edit forms, inline field edits, delete and
restore, its records on the customer, contact and deal they link to, and its entry in
the navigation.

Each request builds the object's list, record and create classes from the registry
(`registry.get(key)`), over the generic list, record and create pages: their columns,
filters, sorts, forms and field policy come from the object's fields as for any built-in
object. Records are read with `spec.visible(user)` (the object's view right, the data
scope and that object's rows only) and written through `salesops.objects.services`.

An unknown or retired object is a 404, and so is a record outside the reader's data
scope; a role without the object's view (create, edit) right gets a 403.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesops.customization import layouts, policy, registry
from salesops.customization.registry import FieldSpec, ObjectSpec
from salesops.objects import services
from salesops.objects.models import CustomRecord
from salesops.web.auth import me
from salesops.web.forms import REFUSALS, RecordForm, error_text
from salesops.web.listing import columnable
from salesops.web.views import recycle
from salesops.web.views.create import CreatePage
from salesops.web.views.listview import RecordList
from salesops.web.views.records import Masked, RecordPage

#: Records of a custom object shown on the record they link to (the list shows all).
LINKED = 20


def spec_or_404(key: str) -> ObjectSpec:
    """The active custom object `key` (404 for a built-in, unknown or retired one)."""
    spec = registry.find(key)
    if spec is None or not spec.is_custom_object:
        raise Http404
    return spec


def _right(request: HttpRequest, spec: ObjectSpec, right: str) -> None:
    if not me(request).has_right(spec.rights_type, right):
        raise PermissionDenied(_("Your role does not allow you to do this with these records."))


# -- the list -------------------------------------------------------------------------------


class ObjectList(RecordList):
    """The list of one custom object; `spec_key` is set per request."""

    model = CustomRecord
    spec_key: ClassVar[str]
    bulk_actions: ClassVar[list[str]] = ["delete"]
    template_name: ClassVar[str] = "web/object_list.html"

    @property
    def spec(self) -> ObjectSpec:
        if not hasattr(self, "_spec"):
            self._spec = registry.get(self.spec_key)
        return self._spec

    @property
    def object_type(self) -> str:
        return self.spec.rights_type

    def base_queryset(self) -> Any:
        return self.spec.visible(me(self.request))

    def url_of(self, obj: Any) -> str:
        return self.spec.record_url(obj.pk)

    def create_path(self) -> str:
        return reverse("object_new", args=[self.spec.key])

    def bulk_handler(self, action: str) -> Any:
        if action == "delete":
            user = me(self.request)
            return lambda obj: services.delete_record(by=user, record=obj)
        return super().bulk_handler(action)

    def context(self, query: Any, rows: list[Any], cursor: str | None, **extra: Any) -> dict:
        out = super().context(query, rows, cursor, **extra)
        out["bin_url"] = reverse("object_deleted", args=[self.spec.key])
        return out


#: How many of an object's custom fields its list shows before the reader chooses.
DEFAULT_CUSTOM_COLUMNS = 6


def default_columns(spec: ObjectSpec) -> list[str]:
    """The columns a custom object's list shows first: the title, the links, the first
    custom fields (they are what the object is about), the owner and when it was made."""
    custom = [f.key for f in spec.fields() if f.is_custom and columnable(f)]
    return [
        "title",
        *spec.links,
        *custom[:DEFAULT_CUSTOM_COLUMNS],
        "owner",
        "created_at",
    ]


def list_class(spec: ObjectSpec) -> type[ObjectList]:
    """The list class of custom object `spec`, built for this request."""
    return type(
        f"ObjectList_{spec.key}",
        (ObjectList,),
        {
            "spec_key": spec.key,
            "key": f"o.{spec.key}",
            "title": spec.plural,
            "order": default_columns(spec),
        },
    )


@login_required
def object_list(request: HttpRequest, key: str) -> HttpResponseBase:
    view = list_class(spec_or_404(key)).as_view()
    return view(request)


# -- the record page ------------------------------------------------------------------------

#: Record-page addresses by page name.
URL_NAMES = {
    "detail": "object_record",
    "edit": "object_edit",
    "field": "object_field",
    "delete": "object_delete",
}


class ObjectPage(RecordPage):
    """The record page of one custom object; `spec_key` is set per request."""

    model = CustomRecord
    key = "object"
    spec_key: ClassVar[str]

    @property
    def spec(self) -> ObjectSpec:
        if not hasattr(self, "_spec"):
            self._spec = registry.get(self.spec_key)
        return self._spec

    @property
    def object_type(self) -> str:
        return self.spec_key

    @property
    def rights_type(self) -> str:
        return self.spec.rights_type

    def url_for(self, name: str, obj: Any, *args: Any) -> str:
        if name not in URL_NAMES:
            raise Http404
        return reverse(URL_NAMES[name], args=[self.spec_key, obj.pk, *args])

    def editable(self, obj: Any) -> list[FieldSpec]:
        """The fields the reader may change: visible, editable, taken by the update
        service (title, owner, links and the custom fields), and on the reader's layout
        (not in a section their role is not shown); in the layout's order."""
        user = me(self.request)
        if not user.has_right(self.rights_type, "edit"):
            return []
        specs = [
            f
            for f in policy.editable_fields(user, self.spec_key)
            if (f.is_custom or f.key in services.WRITABLE) and f.type != registry.JSON
        ]
        return layouts.flat(self.editable_sections(obj, specs))

    def update(self, obj: Any, data: dict, custom: dict | None, version: int) -> Any:
        return services.update_record(
            by=me(self.request), record=obj, data=data, custom=custom, version=version
        )

    def extra_context(self, obj: Any) -> dict[str, Any]:
        return {
            "kind_label": self.spec.label,
            "list_url": self.spec.list_path(),
            "delete_url": self.url_for("delete", obj),
        }


def page_of(request: HttpRequest, key: str, **kwargs: Any) -> ObjectPage:
    """The record page of custom object `key` for this request (403 without the view
    right)."""
    spec = spec_or_404(key)
    _right(request, spec, "view")
    cls = type(f"ObjectPage_{spec.key}", (ObjectPage,), {"spec_key": spec.key})
    page = cls()
    page.setup(request, **kwargs)
    return page


@login_required
def object_record(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    return page_of(request, key, pk=pk).get(request, pk)


@login_required
def object_edit(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    return page_of(request, key, pk=pk).edit(request, pk)


@login_required
def object_field(request: HttpRequest, key: str, pk: int, name: str) -> HttpResponse:
    return page_of(request, key, pk=pk).field(request, pk, name)


@login_required
@require_POST
def object_delete(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    spec = spec_or_404(key)
    _right(request, spec, "view")
    record = get_object_or_404(spec.visible(me(request)), pk=pk)
    try:
        services.delete_record(by=me(request), record=record)
    except REFUSALS as e:
        messages.error(request, error_text(e))
        return HttpResponseRedirect(spec.record_url(pk))
    messages.success(request, recycle.deleted_message(record))
    return HttpResponseRedirect(spec.list_path())


@login_required
def object_deleted(request: HttpRequest, key: str) -> HttpResponse:
    """The object's recycle bin (the same page as every object's)."""
    spec = spec_or_404(key)
    _right(request, spec, "view")
    return recycle.render_bin(request, spec)


@login_required
@require_POST
def object_restore(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    spec = spec_or_404(key)
    _right(request, spec, "view")
    return recycle.restore_and_redirect(request, spec, pk)


# -- the create form ------------------------------------------------------------------------


class ObjectCreate(CreatePage):
    """A new record of one custom object; `spec_key` is set per request. The records it
    may link to are offered in the form, those given as ?customer=<pk> (…) chosen."""

    model = CustomRecord
    key = "object"
    spec_key: ClassVar[str]
    service = services.create_record

    @property
    def spec(self) -> ObjectSpec:
        return registry.get(self.spec_key)

    def specs(self) -> list[FieldSpec]:
        return [
            f
            for f in policy.editable_fields(me(self.request), self.spec_key)
            if (f.is_custom or f.key in services.WRITABLE) and f.type != registry.JSON
        ]

    def sections(self) -> list[layouts.Section]:
        return layouts.arrange(me(self.request), self.spec_key, self.specs())

    def check(self) -> None:
        if not me(self.request).has_right(self.spec.rights_type, "create"):
            raise PermissionDenied(_("Your role does not allow you to create this kind of record."))

    def create(self, form: RecordForm) -> Any:
        data = {k: v for k, v in form.values().items() if k in services.WRITABLE}
        return services.create_record(
            by=me(self.request),
            object_type=self.spec_key,
            data=data,
            custom=form.custom(),
        )

    def success_url(self, obj: Any) -> str:
        return self.spec.record_url(obj.pk)


@login_required
def object_new(request: HttpRequest, key: str) -> HttpResponseBase:
    spec = spec_or_404(key)
    cls: type[ObjectCreate] = type(
        f"ObjectCreate_{spec.key}",
        (ObjectCreate,),
        {
            "spec_key": spec.key,
            "title": _("New %(object)s") % {"object": spec.label},
            "parents": {link: services.LINK_MODELS[link] for link in spec.links},
        },
    )
    return cls.as_view()(request)


# -- on the linked record ---------------------------------------------------------------------


def linked_sections(user: Any, link: str, obj: Any) -> list[dict[str, Any]]:
    """For each custom object whose records link to `link` records ("customer") and
    that `user` may view: its newest records linked to `obj` that `user` may see (hidden
    fields blanked), the list filtered to `obj`, and the address of a new record linked
    to it. One query per object shown."""
    out: list[dict[str, Any]] = []
    for spec in registry.objects():
        if not spec.is_custom_object or link not in spec.links:
            continue
        if not user.has_right(spec.rights_type, "view"):
            continue
        rows = list(
            spec.visible(user)
            .filter(**{link: obj.pk})
            .select_related("owner")
            .order_by("-id")[:LINKED]
        )
        hidden = policy.hidden_keys(user, spec.key)
        query = f"?{link}={obj.pk}"
        out.append(
            {
                "spec": spec,
                "title": spec.plural,
                "rows": [{"obj": Masked(r, hidden), "url": spec.record_url(r.pk)} for r in rows],
                "list_url": spec.list_path() + query,
                "new_url": reverse("object_new", args=[spec.key]) + query
                if user.has_right(spec.rights_type, "create")
                else "",
            }
        )
    return out


def nav_items(user: Any, path: str) -> list[dict[str, Any]]:
    """The navigation's links to the custom objects `user` may view."""
    items = []
    for spec in registry.objects():
        if spec.is_custom_object and user.has_right(spec.rights_type, "view"):
            url = spec.list_path()
            items.append({"url": url, "label": spec.plural, "current": path.startswith(url)})
    return items


__all__ = ["linked_sections", "nav_items", "object_list"]
