import { createContext, useContext } from "react";
import type { FlowgenApi } from "./api/client";

export const ApiContext = createContext<FlowgenApi | null>(null);

export function useApi(): FlowgenApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside <ApiContext.Provider>");
  return api;
}
