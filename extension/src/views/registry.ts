// The "registry" view (not built yet).
import { registerView } from "./index";

void registerView;
