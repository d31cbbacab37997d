"""The embeddable website widget: publishable keys, allowed origins, theme, visitor sessions and the
public API the widget script talks to."""
