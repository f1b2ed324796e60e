import datetime as dt

import factory
from django.utils import timezone

from salesops.activities.models import FollowUp, Task
from salesops.crm.tests.factories import CustomerFactory


class FollowUpFactory(factory.django.DjangoModelFactory[FollowUp]):
    """A call on a customer of the same owner."""

    class Meta:
        model = FollowUp

    owner = None
    kind = FollowUp.Kind.CALL
    occurred_at = factory.LazyFunction(timezone.now)
    subject = factory.Sequence(lambda n: f"Call {n}")
    customer = factory.SubFactory(CustomerFactory, owner=factory.SelfAttribute("..owner"))


class TaskFactory(factory.django.DjangoModelFactory[Task]):
    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"Task {n}")
    due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))
