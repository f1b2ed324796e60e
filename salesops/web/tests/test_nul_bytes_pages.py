"""A NUL character typed (or pasted) into a page's form is refused next to the field,
on both databases, and nothing is saved."""

from django.urls import reverse

from salesops.crm.models import Customer


def test_a_nul_in_a_form_field_is_refused_with_a_message(cast, signed_in):
    client = signed_in(cast.rep)
    response = client.post(reverse("customer_new"), {"name": "Ac\x00me", "owner": cast.rep.pk})
    assert response.status_code in (200, 400)
    assert "Null characters are not allowed" in response.content.decode() or (
        "NUL" in response.content.decode()
    )
    assert not Customer.all_objects.exists()
