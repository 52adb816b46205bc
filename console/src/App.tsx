// The console's frame: sign-in when there is no session, otherwise the
// navigation and the page the hash names (`/admin/#/orders`): the API owns
// every path under /admin/, the console only its fragment.
import { useEffect } from "react";
import { Link, Redirect, Route, Router, Switch, useLocation } from "wouter";
import { useHashLocation } from "wouter/use-hash-location";
import { session, useSession } from "./session";
import { SignIn } from "./pages/SignIn";
import { Orders } from "./pages/Orders";
import { OrderDetail } from "./pages/OrderDetail";
import { Products } from "./pages/Products";
import { ProductDetail } from "./pages/ProductDetail";
import { Markets } from "./pages/Markets";
import { Rates } from "./pages/Rates";
import { Promotions } from "./pages/Promotions";
import { Sales } from "./pages/Sales";

const AREAS = [
  ["/orders", "Orders"],
  ["/products", "Products"],
  ["/markets", "Markets"],
  ["/rates", "Tax, duties and exchange"],
  ["/promotions", "Promotions"],
  ["/sales", "Sales"],
] as const;

function Title({ children }: { children: string }) {
  useEffect(() => {
    document.title = `${children} · Shop admin`;
  }, [children]);
  return null;
}

function Frame() {
  const signedIn = useSession();
  const [location] = useLocation();
  if (!signedIn) return <SignIn />;
  return (
    <>
      <header>
        <nav aria-label="Areas">
          <span className="brand">Shop admin</span>
          <ul>
            {AREAS.map(([path, label]) => (
              <li key={path}>
                <Link href={path} aria-current={location.startsWith(path) ? "page" : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
          <span className="who">
            {signedIn.name}{" "}
            <button type="button" onClick={() => session.end()}>
              Sign out
            </button>
          </span>
        </nav>
      </header>
      <main>
        <Switch>
          <Route path="/orders">
            <Title>Orders</Title>
            <Orders />
          </Route>
          <Route path="/orders/:id">
            {(params) => (
              <>
                <Title>Order</Title>
                <OrderDetail id={params.id} />
              </>
            )}
          </Route>
          <Route path="/products">
            <Title>Products</Title>
            <Products />
          </Route>
          <Route path="/products/:id">
            {(params) => (
              <>
                <Title>Product</Title>
                <ProductDetail id={params.id} />
              </>
            )}
          </Route>
          <Route path="/markets">
            <Title>Markets</Title>
            <Markets />
          </Route>
          <Route path="/rates">
            <Title>Tax, duties and exchange</Title>
            <Rates />
          </Route>
          <Route path="/promotions">
            <Title>Promotions</Title>
            <Promotions />
          </Route>
          <Route path="/sales">
            <Title>Sales</Title>
            <Sales />
          </Route>
          <Route>
            <Redirect to="/orders" />
          </Route>
        </Switch>
      </main>
    </>
  );
}

export function App() {
  return (
    <Router hook={useHashLocation}>
      <Frame />
    </Router>
  );
}
