//go:build linux && cgo && !nowebview

#include "window_gtk.h"

#include <stdlib.h>
#include <sys/stat.h>

// Exported by window_gtk.go.
extern void sunoyeDo(uintptr_t f);
extern void sunoyeClosed(uintptr_t id);

// The hidden view that every window's view is related to: related views
// share one web process (WebKit otherwise starts one per view), and while
// it lives, that process stays warm for the next window even when no
// window is open.
static WebKitWebView *anchor;

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

int sunoye_init(void) {
	dmabuf_workaround();
	if (!gtk_init_check(NULL, NULL))
		return 0;
	anchor = WEBKIT_WEB_VIEW(webkit_web_view_new());
	g_object_ref_sink(anchor);
	WebKitSettings *settings = webkit_web_view_get_settings(anchor);
	// As webview_go set it: the chat UI's copy buttons.
	webkit_settings_set_javascript_can_access_clipboard(settings, TRUE);
	// A blank page starts the web process now, not at the first window.
	webkit_web_view_load_html(anchor, "", NULL);
	return 1;
}

static void destroyed(GtkWidget *w, gpointer id) {
	sunoyeClosed((uintptr_t)id);
}

GtkWidget *sunoye_window_new(const char *title, const char *url, int width, int height, uintptr_t id) {
	GtkWidget *win = gtk_window_new(GTK_WINDOW_TOPLEVEL);
	gtk_window_set_title(GTK_WINDOW(win), title);
	gtk_window_set_default_size(GTK_WINDOW(win), width, height);
	GtkWidget *view = webkit_web_view_new_with_related_view(anchor);
	gtk_container_add(GTK_CONTAINER(win), view);
	webkit_web_view_load_uri(WEBKIT_WEB_VIEW(view), url);
	g_signal_connect(win, "destroy", G_CALLBACK(destroyed), (gpointer)id);
	gtk_widget_grab_focus(view);
	gtk_widget_show_all(win);
	return win;
}

void sunoye_window_present(GtkWidget *win) {
	gtk_window_present(GTK_WINDOW(win));
}
