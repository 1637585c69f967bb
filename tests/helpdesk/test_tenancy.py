import pytest
from django.core.management import call_command
from django.test import Client
from django_scopes import ScopeError

from helpdesk.models import Membership, Tenant, TenantDomain
from helpdesk.tenancy import TenantCommand, tenant_for_host, tenant_scope, tenant_task
from plans.models import Organization, Plan


@pytest.mark.parametrize(
    "host",
    ["acme.localhost", "ACME.localhost:8000", "acme.localhost:443", "support.acme-corp.example"],
)
def test_tenant_is_resolved_from_its_subdomain_or_a_mapped_domain(acme, host):
    TenantDomain.objects.create(tenant=acme.tenant, domain="Support.Acme-Corp.example")
    assert tenant_for_host(host) == acme.tenant


@pytest.mark.parametrize(
    "host", ["nope.localhost", "a.acme.localhost", "acme.example.org", "localhost.evil"]
)
def test_unknown_hosts_resolve_to_no_tenant(acme, host):
    assert tenant_for_host(host) is None


def test_unknown_host_gets_a_clear_404_page(acme):
    response = Client(HTTP_HOST="nope.localhost").get("/")
    assert response.status_code == 404
    assert "There is no help center at" in response.content.decode()
    assert "nope.localhost" in response.content.decode()


def test_unknown_host_page_does_not_run_views(acme):
    response = Client(HTTP_HOST="nope.localhost").get("/accounts/login/")
    assert response.status_code == 404


def test_deactivated_tenant_is_not_served(acme):
    Tenant.objects.filter(pk=acme.tenant.pk).update(is_active=False)
    response = Client(HTTP_HOST=acme.host).get("/accounts/login/")
    assert response.status_code == 404


def test_custom_domain_serves_the_tenants_help_center(acme):
    TenantDomain.objects.create(tenant=acme.tenant, domain="help.acme-corp.example")
    client = Client(HTTP_HOST="help.acme-corp.example")
    client.force_login(acme.customer)
    response = client.get("/")
    assert response.status_code == 200
    assert "Acme Analytics" in response.content.decode()


def test_platform_host_serves_the_operator_pages_not_a_help_center(acme):
    response = Client(HTTP_HOST="localhost:8000").get("/")
    assert response.status_code == 200
    assert "Helpdesk platform" in response.content.decode()
    assert Client(HTTP_HOST="localhost").get("/tickets/").status_code == 404
    # Operators sign in through allauth there; nobody signs up.
    assert Client(HTTP_HOST="localhost").get("/accounts/login/").status_code == 200
    assert (
        "Sign Up Closed" in Client(HTTP_HOST="localhost").get("/accounts/signup/").content.decode()
    )


def test_queries_on_tenant_data_outside_a_scope_raise(acme):
    with pytest.raises(ScopeError):
        list(Plan.objects.all())
    with pytest.raises(ScopeError):
        Organization.objects.filter(name__startswith="A").count()
    with pytest.raises(ScopeError):
        Membership.objects.get(user=acme.customer)


def test_every_manager_of_every_tenant_model_needs_a_scope(acme):
    """Proxies included: a manager a model declares replaces the scoped one it inherits."""
    from django.apps import apps

    from helpdesk.models import TenantOwned

    checked = 0
    for model in apps.get_models():
        if not issubclass(model, TenantOwned):
            continue
        for manager in model._meta.managers:
            with pytest.raises(ScopeError):
                manager.filter(pk=0).exists()
            checked += 1
    assert checked > 50


def test_a_scope_shows_only_its_tenants_rows(acme, globex):
    with tenant_scope(acme.tenant):
        names = set(Organization.objects.values_list("name", flat=True))
        assert names == {"Acme Analytics Customer Co", "Acme Analytics Other Co"}
        assert Plan.objects.count() == 3
    with tenant_scope(globex.tenant):
        assert not Organization.objects.filter(name__startswith="Acme").exists()


@tenant_task()
def count_organizations(tenant):
    return [tenant.slug, Organization.objects.count()]


def test_tenant_task_runs_its_body_inside_the_tenants_scope(acme, globex):
    # Eager here; test_celery.py runs a real worker.
    assert count_organizations.delay(acme.tenant.id).get() == ["acme", 2]
    with tenant_scope(globex.tenant):
        Organization.objects.filter(name="Globex Other Co").delete()
    assert count_organizations.delay(globex.tenant.id).get() == ["globex", 1]


def test_tenant_task_is_a_no_op_for_a_deactivated_tenant(acme):
    Tenant.objects.filter(pk=acme.tenant.pk).update(is_active=False)
    assert count_organizations.delay(acme.tenant.id).get() is None


class CountPlans(TenantCommand):
    all_tenants_by_default = True

    def handle_tenant(self, tenant, *args, **options):
        self.stdout.write(f"{tenant.slug}:{Plan.objects.count()}")


def test_tenant_command_enters_each_tenants_scope(acme, globex, capsys):
    call_command(CountPlans())
    assert sorted(capsys.readouterr().out.split()) == ["acme:3", "globex:3"]
    call_command(CountPlans(), tenant="globex")
    assert capsys.readouterr().out.split() == ["globex:3"]
