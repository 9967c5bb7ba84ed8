from tests.conftest import OWN


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_login_and_list(client, login_as, make_person):
    make_person(full_name="Nguyễn Văn Ánh")
    login_as("health_station", OWN)
    response = client.get("/records?q=nguyen van anh")
    assert response.status_code == 200
    assert "Nguyễn Văn Ánh" in response.get_data(as_text=True)


def test_rollback_isolates_tests(client, login_as):
    login_as("health_station", OWN)
    response = client.get("/records?q=nguyen van anh")
    assert "Nguyễn Văn Ánh" not in response.get_data(as_text=True)
