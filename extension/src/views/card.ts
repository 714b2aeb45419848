// The "card" view (not built yet).
import { registerView } from "./index";

void registerView;
