// The "parcoords" view (not built yet).
import { registerView } from "./index";

void registerView;
