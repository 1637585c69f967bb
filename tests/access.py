"""Assertions shared by the access tests of every app."""


def assert_asked_to_sign_in(response) -> None:
    """The answer to a person of another desk (or nobody): sign in here first.

    People belong to one desk (docs/people.md): a session of another desk is nobody at
    this desk's host, so pages send it to the sign-in page and the API answers 401.
    """
    if response.get("Content-Type", "").startswith("application/json"):
        assert response.status_code == 401, response.content[:300]
        return
    assert response.status_code == 302, response.status_code
    assert "/login/" in response["Location"], response["Location"]
