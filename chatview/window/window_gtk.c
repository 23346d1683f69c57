//go:build linux && cgo && !nowebview

#include "window_gtk.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// Exported by window_gtk.go.
extern void sunoyeDo(uintptr_t f);
extern GtkWidget *sunoyeCreate(WebKitWebView *view);
extern void sunoyeScriptDone(uintptr_t p, int ok);
extern void sunoyeAnchorLoaded(int ok);
extern void sunoyeAnchorLost(void);
extern void sunoyeClosed(uintptr_t id);
extern void sunoyeShown(uintptr_t id);

// The anchor is a hidden view showing a page of the chat UI's origin; every
// window is a popup that it opens (window.open), so that they all share its
// web process. WebKit gives each new view a web process of its own, and a
// related view (webkit_web_view_new_with_related_view) is moved to another
// at its first page all the same, because the chat UI's pages send
// Cross-Origin-Opener-Policy: same-origin; a popup opened by a same-origin
// page with that policy stays in its opener's process. While the anchor
// lives, that process also stays warm for the next window when no window
// is open.
static WebKitWebView *anchor;
static int anchor_failed;

// origin is the chat UI's ("http://127.0.0.1:PORT"): the windows' pages
// may go nowhere else.
static char *origin;

void sunoye_set_origin(const char *o) {
	g_free(origin);
	origin = g_strdup(o);
}

// same_origin reports whether uri is origin or below it.
static gboolean same_origin(const char *uri) {
	if (!origin)
		return FALSE;
	size_t n = strlen(origin);
	if (strncmp(uri, origin, n) != 0)
		return FALSE;
	char c = uri[n];
	return c == '\0' || c == '/' || c == '?' || c == '#';
}

// window_decide lets a window's page go only to the chat UI's origin: any
// other navigation (a link that got past the page's guard, a link dropped
// on the window, the context menu's Open Link) and any new window are
// ignored; links open in the default browser through the daemon.
// Responses are left to WebKit.
static gboolean window_decide(WebKitWebView *v, WebKitPolicyDecision *d, WebKitPolicyDecisionType type, gpointer _) {
	switch (type) {
	case WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION: {
		WebKitNavigationAction *a = webkit_navigation_policy_decision_get_navigation_action(WEBKIT_NAVIGATION_POLICY_DECISION(d));
		const char *uri = webkit_uri_request_get_uri(webkit_navigation_action_get_request(a));
		if (uri && (same_origin(uri) || strcmp(uri, "about:blank") == 0))
			return FALSE;
		webkit_policy_decision_ignore(d);
		return TRUE;
	}
	case WEBKIT_POLICY_DECISION_TYPE_NEW_WINDOW_ACTION:
		webkit_policy_decision_ignore(d);
		return TRUE;
	default:
		return FALSE;
	}
}

// anchor_decide keeps the anchor on the origin too; its new windows (the
// chat windows, opened by our script) must be of the origin as well.
static gboolean anchor_decide(WebKitWebView *v, WebKitPolicyDecision *d, WebKitPolicyDecisionType type, gpointer _) {
	if (type != WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION && type != WEBKIT_POLICY_DECISION_TYPE_NEW_WINDOW_ACTION)
		return FALSE;
	WebKitNavigationAction *a = webkit_navigation_policy_decision_get_navigation_action(WEBKIT_NAVIGATION_POLICY_DECISION(d));
	const char *uri = webkit_uri_request_get_uri(webkit_navigation_action_get_request(a));
	if (uri && (same_origin(uri) || (type == WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION && strcmp(uri, "about:blank") == 0)))
		return FALSE;
	webkit_policy_decision_ignore(d);
	return TRUE;
}

static gboolean do_idle(gpointer f) {
	sunoyeDo((uintptr_t)f);
	return G_SOURCE_REMOVE;
}

void sunoye_dispatch(uintptr_t f) {
	g_idle_add_full(G_PRIORITY_HIGH_IDLE, do_idle, (gpointer)f, NULL);
}

// NVIDIA's driver and WebKit's DMA-BUF renderer draw blank windows on
// X11 (https://bugs.webkit.org/show_bug.cgi?id=261874); webview_go works
// around it the same way.
static void dmabuf_workaround(void) {
	struct stat st;
	if (getenv("WEBKIT_DISABLE_DMABUF_RENDERER") || getenv("WAYLAND_DISPLAY"))
		return;
	if (stat("/sys/module/nvidia", &st) == 0 && S_ISDIR(st.st_mode))
		setenv("WEBKIT_DISABLE_DMABUF_RENDERER", "1", 1);
}

static void anchor_load_changed(WebKitWebView *v, WebKitLoadEvent ev, gpointer _) {
	if (ev == WEBKIT_LOAD_STARTED)
		anchor_failed = 0;
	else if (ev == WEBKIT_LOAD_FINISHED)
		sunoyeAnchorLoaded(!anchor_failed);
}

static gboolean anchor_load_failed(WebKitWebView *v, WebKitLoadEvent ev, gchar *uri, GError *err, gpointer _) {
	anchor_failed = 1;
	return TRUE; // no error page
}

static void anchor_terminated(WebKitWebView *v, WebKitWebProcessTerminationReason r, gpointer _) {
	sunoyeAnchorLost();
}

static GtkWidget *anchor_create(WebKitWebView *v, WebKitNavigationAction *a, gpointer _) {
	return sunoyeCreate(v);
}

int sunoye_init(void) {
	dmabuf_workaround();
	if (!gtk_init_check(NULL, NULL))
		return 0;
	anchor = WEBKIT_WEB_VIEW(webkit_web_view_new());
	g_object_ref_sink(anchor);
	WebKitSettings *settings = webkit_web_view_get_settings(anchor);
	// The popups share these settings. Scripts may open windows, but
	// only the anchor's "create" makes one: a chat page's window.open
	// gets nothing.
	webkit_settings_set_javascript_can_open_windows_automatically(settings, TRUE);
	// As webview_go set it: the chat UI's copy buttons.
	webkit_settings_set_javascript_can_access_clipboard(settings, TRUE);
	g_signal_connect(anchor, "load-changed", G_CALLBACK(anchor_load_changed), NULL);
	g_signal_connect(anchor, "load-failed", G_CALLBACK(anchor_load_failed), NULL);
	g_signal_connect(anchor, "web-process-terminated", G_CALLBACK(anchor_terminated), NULL);
	g_signal_connect(anchor, "create", G_CALLBACK(anchor_create), NULL);
	g_signal_connect(anchor, "decide-policy", G_CALLBACK(anchor_decide), NULL);
	return 1;
}

void sunoye_anchor_terminate(void) {
	webkit_web_view_terminate_web_process(anchor);
}

void sunoye_anchor_load(const char *url) {
	webkit_web_view_load_uri(anchor, url);
}

static void script_done(GObject *v, GAsyncResult *res, gpointer p) {
	GError *err = NULL;
	JSCValue *val = webkit_web_view_evaluate_javascript_finish(WEBKIT_WEB_VIEW(v), res, &err);
	int ok = val != NULL && jsc_value_to_boolean(val);
	if (val)
		g_object_unref(val);
	if (err)
		g_error_free(err);
	sunoyeScriptDone((uintptr_t)p, ok);
}

// sunoye_popup runs script (a window.open) in the anchor's page.
void sunoye_popup(const char *script, uintptr_t p) {
	webkit_web_view_evaluate_javascript(anchor, script, -1, NULL, NULL, NULL, script_done, (gpointer)p);
}

static void destroyed(GtkWidget *w, gpointer id) {
	sunoyeClosed((uintptr_t)id);
}

static void ready_to_show(WebKitWebView *v, gpointer id) {
	GtkWidget *win = gtk_widget_get_toplevel(GTK_WIDGET(v));
	gtk_widget_show_all(win);
	gtk_window_present(GTK_WINDOW(win));
	sunoyeShown((uintptr_t)id);
}

static gboolean destroy_idle(gpointer win) {
	gtk_widget_destroy(GTK_WIDGET(win));
	g_object_unref(win);
	return G_SOURCE_REMOVE;
}

// The page closed itself, or its web process ended: its window goes, once
// WebKit is done with the signal (destroying the view inside it crashes).
static void close_window(WebKitWebView *v, gpointer win) {
	g_idle_add(destroy_idle, g_object_ref(win));
}

static void view_terminated(WebKitWebView *v, WebKitWebProcessTerminationReason r, gpointer win) {
	close_window(v, win);
}

// sunoye_window_new makes the window of a popup's view; it shows when the
// page is ready to.
GtkWidget *sunoye_window_new(WebKitWebView *view, const char *title, int width, int height, uintptr_t id) {
	GtkWidget *win = gtk_window_new(GTK_WINDOW_TOPLEVEL);
	gtk_window_set_title(GTK_WINDOW(win), title);
	gtk_window_set_default_size(GTK_WINDOW(win), width, height);
	gtk_container_add(GTK_CONTAINER(win), GTK_WIDGET(view));
	g_signal_connect(win, "destroy", G_CALLBACK(destroyed), (gpointer)id);
	g_signal_connect(view, "ready-to-show", G_CALLBACK(ready_to_show), (gpointer)id);
	g_signal_connect(view, "close", G_CALLBACK(close_window), win);
	g_signal_connect(view, "web-process-terminated", G_CALLBACK(view_terminated), win);
	g_signal_connect(view, "decide-policy", G_CALLBACK(window_decide), NULL);
	gtk_widget_grab_focus(GTK_WIDGET(view));
	return win;
}

WebKitWebView *sunoye_view_new(WebKitWebView *related) {
	return WEBKIT_WEB_VIEW(webkit_web_view_new_with_related_view(related));
}

void sunoye_window_present(GtkWidget *win) {
	gtk_window_present(GTK_WINDOW(win));
}
