package wintest

import (
	"testing"

	"github.com/sunoye/sunoye/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
