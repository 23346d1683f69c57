package db

import (
	"testing"

	"github.com/sunoye/sunoye/internal/testenv"
)

// TestMain lets testenv stop the shared MariaDB server, which the first
// test that needs it starts, after all tests.
func TestMain(m *testing.M) { testenv.Main(m) }
