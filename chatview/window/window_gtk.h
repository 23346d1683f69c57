#include <stdint.h>
#include <gtk/gtk.h>
#include <webkit2/webkit2.h>

void sunoye_dispatch(uintptr_t f);
int sunoye_init(void);
void sunoye_anchor_load(const char *url);
void sunoye_anchor_terminate(void);
void sunoye_popup(const char *script, uintptr_t p);
GtkWidget *sunoye_window_new(WebKitWebView *view, const char *title, int width, int height, uintptr_t id);
WebKitWebView *sunoye_view_new(WebKitWebView *related);
void sunoye_window_present(GtkWidget *win);
void sunoye_set_origin(const char *origin);
