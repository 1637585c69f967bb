from tests.helpdesk.factories import PASSWORD


def sign_in(page, email, password=PASSWORD):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def record_dialogs(page) -> list[str]:
    """Every alert/confirm/prompt the page opens (dismissed at once)."""
    opened: list[str] = []

    def on_dialog(dialog):
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return opened
