import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from salesops.crm.models import Contact, Customer, Deal, Lead, Product
from salesops.pipeline.models import Pipeline, Stage


class PipelineFactory(factory.django.DjangoModelFactory):
    """A pipeline with stages Qualify(10%) · Propose(40%) · Negotiate(70%) · Won · Lost."""

    class Meta:
        model = Pipeline
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Pipeline {n}")

    @factory.post_generation
    def stages(obj, create, extracted, **kwargs):
        if not create:
            return
        spec = extracted or [
            ("Qualify", 10, "open"),
            ("Propose", 40, "open"),
            ("Negotiate", 70, "open"),
            ("Won", 100, "won"),
            ("Lost", 0, "lost"),
        ]
        for i, (name, prob, kind) in enumerate(spec, start=1):
            Stage.objects.create(pipeline=obj, name=name, order=i, probability=prob, kind=kind)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    name = factory.Sequence(lambda n: f"Lead person {n}")
    company = factory.Sequence(lambda n: f"Lead company {n}")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    owned_since = factory.LazyFunction(timezone.now)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    owner = factory.SelfAttribute("customer.owner")
    name = factory.Sequence(lambda n: f"Contact {n}")


class DealFactory(factory.django.DjangoModelFactory):
    """An open deal in the first stage of its pipeline (no stage history: use services
    to move it)."""

    class Meta:
        model = Deal

    name = factory.Sequence(lambda n: f"Deal {n}")
    customer = factory.SubFactory(CustomerFactory, owner=factory.SelfAttribute("..owner"))
    pipeline = factory.SubFactory(PipelineFactory)
    stage = factory.LazyAttribute(lambda o: o.pipeline.stages.order_by("order").first())
    amount = Decimal("1000.00")
    currency_id = "CNY"
    expected_close = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=30))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    price = Decimal("100.00")
    currency_id = "CNY"
