from salesops.crm.tests.factories import PipelineFactory


def test_a_rep_creates_reads_and_lists_a_lead(cast, as_user):
    api = as_user(cast.rep)
    r = api.post("/leads", {"name": "Ada", "company": "Acme"})
    assert r.status_code == 201, r.content
    lead = r.json()
    assert lead["owner"] == cast.rep.pk
    r = api.get(f"/leads/{lead['id']}")
    assert r.status_code == 200
    assert r["ETag"] == '"1"'
    r = api.get("/leads", {"status": "new", "sort": "-created_at", "expand": "owner"})
    assert r.status_code == 200, r.content
    assert r.json()["data"][0]["owner"]["username"] == "rep"


def test_a_deal_moves_through_its_pipeline(cast, as_user):
    PipelineFactory(is_default=True)
    api = as_user(cast.rep)
    customer = api.post("/customers", {"name": "Acme"}).json()
    r = api.post("/deals", {"customer": customer["id"], "name": "Big", "amount": "1000.50"})
    assert r.status_code == 201, r.content
    deal = r.json()
    r = api.post(f"/deals/{deal['id']}/won", {})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "won"
    r = api.get(f"/deals/{deal['id']}/stage-history")
    assert len(r.json()["data"]) == 2
