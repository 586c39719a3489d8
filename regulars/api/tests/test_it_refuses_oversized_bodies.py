from regulars.api.tests.conftest import Api, token


def test_it_answers_413_for_a_body_over_the_limit(cast, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    api = Api(token(cast.bob))
    response = api.post(
        "/tickets", {"subject": "Big", "body": "x" * 5000, "requester_email": "big@example.com"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_it_answers_413_for_an_attachment_over_the_limit(cast, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    api = Api(token(cast.bob))
    response = api.post(
        "/tickets",
        {
            "subject": "Big file",
            "body": "see file",
            "requester_email": "big@example.com",
            "attachments": [
                {
                    "filename": "a.txt",
                    "content_type": "text/plain",
                    "content_base64": "QUFBQUFBQUFBQUFBQUFBQQ==",
                }
            ],
        },
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "attachment_too_large"
