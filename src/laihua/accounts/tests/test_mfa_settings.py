"""The second factor's setting: every staff role by default, none in the demo, and a bad value stops start-up."""

from tests.test_production_settings import production_env, run_laihua

PRINT_ROLES = "from django.conf import settings as s; print(','.join(s.LAIHUA_MFA_REQUIRED_ROLES) or 'none')"


def roles(env) -> str:
    result = run_laihua(env, "shell", "--no-imports", "-c", PRINT_ROLES)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_every_staff_role_needs_a_second_factor_by_default(tmp_path):
    assert (
        roles(production_env(tmp_path)) == "platform_admin,hospital_admin,coordinator,clinician,finance,insurer_agent,"
        "interpreter,city_health_commission"
    )


def test_the_demo_needs_none_and_a_deployment_may_choose(tmp_path):
    assert roles(production_env(tmp_path, LAIHUA_DEMO="1")) == "none"
    assert (
        roles(production_env(tmp_path, LAIHUA_MFA_REQUIRED_ROLES="platform_admin,patient")) == "platform_admin,patient"
    )
    assert roles(production_env(tmp_path, LAIHUA_MFA_REQUIRED_ROLES="none")) == "none"


def test_an_unknown_role_stops_start_up(tmp_path):
    result = run_laihua(production_env(tmp_path, LAIHUA_MFA_REQUIRED_ROLES="coordinator,janitor"), "check")
    assert result.returncode != 0 and "LAIHUA_MFA_REQUIRED_ROLES" in result.stderr


def test_passkeys_follow_the_site_url(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.OTP_WEBAUTHN_RP_ID, s.OTP_WEBAUTHN_ALLOWED_ORIGINS[0], s.LAIHUA_PASSKEYS)"
    )
    env = production_env(tmp_path, LAIHUA_SITE_URL="https://laihua.example.org")
    result = run_laihua(env, "shell", "--no-imports", "-c", code)
    assert result.stdout.split() == ["laihua.example.org", "https://laihua.example.org", "True"], result.stderr
