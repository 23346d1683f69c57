//go:build linux && cgo && !nowebview

package window

/*
#cgo linux pkg-config: gtk+-3.0 webkit2gtk-4.0
#include <gtk/gtk.h>
#include <webkit2/webkit2.h>
#include <string.h>

// sunoye_same_origin reports whether uri is origin ("http://127.0.0.1:PORT")
// or below it.
static gboolean sunoye_same_origin(const char *uri, const char *origin) {
	size_t n = strlen(origin);
	if (strncmp(uri, origin, n) != 0) return FALSE;
	char c = uri[n];
	return c == '\0' || c == '/' || c == '?' || c == '#';
}

// sunoye_decide lets the web view go only to its own origin: any other
// navigation (a link that got past the page's guard, a link dropped on
// the window, the context menu's Open Link) and any new window are
// ignored. Responses are left to WebKit.
static gboolean sunoye_decide(WebKitWebView *v, WebKitPolicyDecision *d, WebKitPolicyDecisionType type, gpointer origin) {
	switch (type) {
	case WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION: {
		WebKitNavigationAction *a = webkit_navigation_policy_decision_get_navigation_action(WEBKIT_NAVIGATION_POLICY_DECISION(d));
		const char *uri = webkit_uri_request_get_uri(webkit_navigation_action_get_request(a));
		if (uri && (sunoye_same_origin(uri, (const char *)origin) || strcmp(uri, "about:blank") == 0)) return FALSE;
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

// sunoye_guard_navigation connects sunoye_decide to the web view in
// window (webview_go puts it there as the window's only child).
static int sunoye_guard_navigation(void *window, const char *origin) {
	GtkWidget *child = gtk_bin_get_child(GTK_BIN(window));
	if (!child || !WEBKIT_IS_WEB_VIEW(child)) return 0;
	g_signal_connect_data(child, "decide-policy", G_CALLBACK(sunoye_decide), g_strdup(origin), (GClosureNotify)g_free, 0);
	return 1;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"net/url"
	"unsafe"
)

// guardNavigation keeps the web view in window (webview_go's Window())
// on the origin of page: the chat UI. Links of messages open in the
// default browser through the daemon (the page's own guard, which also
// runs in the browser fallback); this is the web view's last line, for
// whatever gets past the page. It must run on the GTK thread.
func guardNavigation(window unsafe.Pointer, page string) error {
	u, err := url.Parse(page)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("guard navigation: %q is no absolute URL", page)
	}
	origin := C.CString(u.Scheme + "://" + u.Host)
	defer C.free(unsafe.Pointer(origin))
	if C.sunoye_guard_navigation(window, origin) == 0 {
		return errors.New("guard navigation: no web view in the window")
	}
	return nil
}
