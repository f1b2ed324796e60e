import factory

from salesops.users.models import Role, Team, User


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role

    name = factory.Sequence(lambda n: f"Role {n}")
    data_scope = Role.Scope.OWN
    rights = factory.LazyFunction(
        lambda: {
            t: ["view", "create", "edit", "delete", "export"]
            for t in (
                "lead",
                "customer",
                "contact",
                "deal",
                "followup",
                "task",
                "product",
                "quote",
                "contract",
                "payment",
                "target",
            )
        }
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    role = factory.SubFactory(RoleFactory)
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-0")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
