"""Users: Django's own user admin, on our user model."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserCreationForm

from ..models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    class AddForm(UserCreationForm):
        class Meta(UserCreationForm.Meta):
            model = User
            fields = ("username", "email")

    add_form = AddForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )
