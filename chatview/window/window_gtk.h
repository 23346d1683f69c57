#include <stdint.h>
#include <gtk/gtk.h>
#include <webkit2/webkit2.h>

void sunoye_dispatch(uintptr_t f);
int sunoye_init(void);
GtkWidget *sunoye_window_new(const char *title, const char *url, int width, int height, uintptr_t id);
void sunoye_window_present(GtkWidget *win);
